#!/usr/bin/env python3
"""PyTorch + timm side of `cargo xtask bench --reference-python PATH`: the same rows as
`vit bench`, printed as the same JSON line. Set up a Python for it with

    python3 -m venv ~/venv-timm && ~/venv-timm/bin/pip install torch timm

and pass ~/venv-timm/bin/python. Threads follow torch's default (all cores), as ours do.
`--device cuda` runs the row on the GPU (each step synchronised, so the time is the work's),
and `--amp bf16|f16` under `torch.autocast`.
"""
import argparse
import json
import resource
import time

import torch


def model_for(name: str):
    import timm
    if name == "vit_32px":  # the 32x32 training-step model of `vit bench`
        from timm.models.vision_transformer import VisionTransformer
        return VisionTransformer(img_size=32, patch_size=4, embed_dim=64, depth=2, num_heads=4, num_classes=10)
    # `name@size`: the architecture built for another square input size, as `vit bench` reads it.
    name, _, size = name.partition("@")
    kwargs = dict(img_size=int(size)) if size else {}
    return timm.create_model(name, pretrained=False, **kwargs)


def time_runs(warmup: int, runs: int, step) -> list:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(max(runs, 1)):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--train", action="store_true")
    p.add_argument("--matmul", type=int)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", choices=["bf16", "f16"])
    p.add_argument("--tf32", action="store_true",
                   help="float32 matrix products on TF32 tensor cores (as CubeCL's CUDA matmul runs them)")
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(0)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    amp = {"bf16": torch.bfloat16, "f16": torch.float16}.get(a.amp)

    def autocast():
        return torch.autocast(dev.type, dtype=amp, enabled=amp is not None)
    if a.matmul:
        x, y = torch.rand(a.matmul, a.matmul, device=dev), torch.rand(a.matmul, a.matmul, device=dev)

        def step():
            x @ y
            sync()
        times = time_runs(a.warmup, a.runs, step)
        out = {"matmul": a.matmul}
        images = 0
    else:
        model = model_for(a.model).to(dev)
        size = model.pretrained_cfg.get("input_size", (3, 224, 224)) if a.model != "vit_32px" else (3, 32, 32)
        if "@" in a.model:  # built for another size: the patch embedding's
            size = (size[0], *model.patch_embed.img_size)
        x = torch.rand(a.batch, *size, device=dev)
        if a.train:
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            y = (torch.arange(a.batch) % max(model.num_classes, 1)).to(dev)
            loss_fn = torch.nn.CrossEntropyLoss()

            def step():
                opt.zero_grad(set_to_none=True)
                with autocast():
                    loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                sync()
        else:
            model.eval()

            def step():
                with torch.inference_mode(), autocast():
                    model(x)
                sync()
        times = time_runs(a.warmup, a.runs, step)
        out = {"model": a.model, "mode": "train" if a.train else "infer", "batch": a.batch}
        images = a.batch
    median = sorted(times)[len(times) // 2]
    out.update(backend="pytorch", runs_ms=times, median_ms=median, min_ms=min(times), max_ms=max(times),
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               threads=torch.get_num_threads(), torch=torch.__version__, device=str(dev))
    if cuda:
        out.update(peak_gpu_mib=torch.cuda.max_memory_allocated() / 2**20,
                   gpu=torch.cuda.get_device_name(), amp=a.amp or "f32",
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    if images:
        out["images_per_s"] = images / (median / 1e3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
