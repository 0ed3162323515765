"""Writes tests/fixtures/views/attention_distance/: mean attention distance per layer and head
computed with numpy from timm's own attention weights, for a hybrid (`cat_hybrid_r26`: a
ResNet stem of stride 32 before 1x1 patches, so one token is 32x32 input pixels) and a ViT with
register tokens (`cat_dinov2_reg`: class + 4 register tokens left out of the patch maps).

For each case: two PNG images (`<case>_0.png`, `<case>_1.png`, at the model's input size), and
`<case>_distance.npy` (float64, [layers, heads]): for every head, the attention of each patch
query over the patch keys (prefix tokens left out, weights renormalised), times the pixel
distance between the patch centres, averaged over queries and then over the two images.
The images go through timm's own evaluation transform from the fixture's pretrained_cfg.

Run: /work/venv/bin/python scripts/make_attention_distance_fixture.py
"""

import json
import pathlib
import sys

import numpy as np
import timm
import torch
from PIL import Image
from safetensors.torch import load_file
from timm.data import create_transform

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from make_timm_fixtures import HYBRID_CASES, build_hybrid  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "views" / "attention_distance"


def model_of(case: str) -> torch.nn.Module:
    folder = FIXTURES / "timm" / case
    config = json.loads((folder / "config.json").read_text())
    if case in HYBRID_CASES:
        _, stem, args, _, _ = HYBRID_CASES[case]
        model = build_hybrid(stem, args)
    else:
        model = timm.create_model(config["architecture"], num_classes=config["num_classes"],
                                  **config["model_args"])
    model.load_state_dict(load_file(folder / "model.safetensors"))
    return model.eval(), config


def picture(size: int, seed: int) -> Image.Image:
    """A structured picture: a bright square on a colour gradient, placed by `seed`."""
    y, x = np.mgrid[0:size, 0:size]
    rgb = np.stack([x * 255 // size, y * 255 // size, np.full_like(x, 90 + 40 * seed)], -1)
    at = size // 4 + seed * size // 8
    rgb[at:at + size // 4, at:at + size // 3] = [250, 240, 30]
    return Image.fromarray(rgb.astype(np.uint8))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for case in ["cat_hybrid_r26", "cat_dinov2_reg"]:
        model, config = model_of(case)
        cfg = config["pretrained_cfg"]
        transform = create_transform(input_size=cfg["input_size"], interpolation=cfg["interpolation"],
                                     mean=cfg["mean"], std=cfg["std"], crop_pct=cfg["crop_pct"],
                                     crop_mode=cfg.get("crop_mode", "center"))
        captured = []
        for block in model.blocks:
            block.attn.fused_attn = False
            block.attn.attn_drop.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
        side = cfg["input_size"][1]
        prefix = model.num_prefix_tokens
        per_image = []
        for seed in range(2):
            image = picture(side, seed)
            image.save(OUT / f"{case}_{seed}.png")
            captured.clear()
            with torch.no_grad():
                model(transform(image).unsqueeze(0))
            tokens = captured[0].shape[-1]
            grid = int(round((tokens - prefix) ** 0.5))
            pitch = side / grid  # input pixels per token side
            rows, cols = np.divmod(np.arange(grid * grid), grid)
            dist = pitch * np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
            layers = []
            for attn in captured:
                a = attn[0].double().numpy()[:, prefix:, prefix:]  # [heads, patches, patches]
                a = a / a.sum(-1, keepdims=True)
                layers.append((a * dist[None]).sum(-1).mean(-1))
            per_image.append(np.stack(layers))
        mean = np.mean(per_image, axis=0)
        np.save(OUT / f"{case}_distance.npy", mean)
        print(case, "prefix", prefix, "grid", grid, "pitch", pitch, "->", mean.shape)


if __name__ == "__main__":
    main()
