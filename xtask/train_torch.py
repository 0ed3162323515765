#!/usr/bin/env python3
"""PyTorch + timm side of the main-job row of `cargo xtask bench --reference-python PATH`:
`vit train` with configs/train_digits.json, as the same recipe in PyTorch — the embedded digits
(crates/vit-train/data/digits.bin), resized 8→16 bilinearly, random ±2-pixel shifts (pad + crop,
zero fill), normalised with mean 0.5 / std 0.5; timm's VisionTransformer with the config's
architecture (drop path 0.1); AdamW (timm's groups: no decay for 1-D params, biases, tokens and
position embeddings), per-step linear warm-up then cosine to min_lr; label smoothing 0.1.

Prints one JSON line: wall seconds (data + training + the final evaluation), test accuracy.
"""
import argparse
import json
import math
import pathlib
import resource
import struct
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_digits():
    raw = (ROOT / "crates/vit-train/data/digits.bin").read_bytes()
    train, test = struct.unpack("<HH", raw[10:14])
    records = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).view(-1, 65)
    labels = records[:, 0].long()
    images = records[:, 1:].float().div(16.0).view(-1, 1, 8, 8)
    return (images[:train], labels[:train]), (images[train:train + test], labels[train:train + test])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", default=str(ROOT / "configs/train_digits.json"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warmup-epochs", type=int)
    p.add_argument("--amp", choices=["bf16", "f16"],
                   help="torch.autocast in this type (f16 with a GradScaler), as vit train --precision")
    a = p.parse_args()
    amp = {"bf16": torch.bfloat16, "f16": torch.float16}.get(a.amp)
    cfg = json.loads(pathlib.Path(a.config).read_text())
    m = cfg["model"]["config"]
    epochs = a.epochs or cfg["epochs"]
    torch.manual_seed(a.seed)
    start = time.perf_counter()

    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(
        img_size=tuple(m["img_size"]), patch_size=m["patch_size"], in_chans=m["in_chans"],
        num_classes=m["num_classes"], embed_dim=m["embed_dim"], depth=m["depth"],
        num_heads=m["num_heads"], mlp_ratio=m["mlp_ratio"], qkv_bias=m["qkv_bias"],
        drop_path_rate=cfg.get("drop_path_rate") or m["drop_path_rate"],
    )
    (xtr, ytr), (xte, yte) = load_digits()
    size = tuple(m["img_size"])
    xtr = F.interpolate(xtr, size=size, mode="bilinear", align_corners=False)
    xte = F.interpolate(xte, size=size, mode="bilinear", align_corners=False)
    mean, std = cfg["mean"][0], cfg["std"][0]
    pad = cfg["augment"]["crop_padding"]

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim <= 1 or name.endswith(".bias") or name in model.no_weight_decay() else decay).append(param)
    opt = torch.optim.AdamW([
        {"params": decay, "weight_decay": cfg["weight_decay"]},
        {"params": no_decay, "weight_decay": 0.0},
    ], lr=cfg["lr"])
    batch = cfg["batch_size"]
    steps_per_epoch = math.ceil(len(ytr) / batch)
    total = steps_per_epoch * epochs
    warmup_epochs = cfg["warmup_epochs"] if a.warmup_epochs is None else a.warmup_epochs
    warmup = steps_per_epoch * warmup_epochs

    def lr_at(step):
        if step < warmup:
            return cfg["lr"] * (step + 1) / warmup
        t = min((step - warmup) / max(total - warmup, 1), 1.0)
        return cfg["min_lr"] + 0.5 * (cfg["lr"] - cfg["min_lr"]) * (1 + math.cos(math.pi * t))

    scaler = torch.amp.GradScaler("cpu", enabled=a.amp == "f16")
    step = 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(ytr))
        for i in range(0, len(ytr), batch):
            idx = order[i:i + batch]
            padded = F.pad(xtr[idx], (pad, pad, pad, pad))
            shifts = torch.randint(0, 2 * pad + 1, (len(idx), 2)).tolist()
            x = torch.stack([im[:, dy:dy + size[0], dx:dx + size[1]] for im, (dy, dx) in zip(padded, shifts)])
            x = (x - mean) / std
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            with torch.autocast("cpu", dtype=amp, enabled=amp is not None):
                loss = F.cross_entropy(model(x), ytr[idx], label_smoothing=cfg["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=amp, enabled=amp is not None):
        pred = model((xte - mean) / std).argmax(1)
    accuracy = (pred == yte).float().mean().item()
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"main_job": "train_digits", "epochs": epochs, "wall_s": wall, "amp": a.amp or "f32",
                      "test_accuracy": accuracy, "peak_rss_mib": peak, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
