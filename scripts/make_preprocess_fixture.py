#!/usr/bin/env python3
"""Parity fixture for crates/vit-core/src/preprocess.rs: timm's own evaluation transform
(`timm.data.create_transform(is_training=False, ...)`, i.e. torchvision Resize/CenterCrop on a PIL
image, ToTensor and Normalize) applied to a small structured test image.

Writes tests/fixtures/preprocess/:
  input.bin, input_tall.bin  raw HWC uint8 RGB (41x53 and its 53x41 transpose)
  cases.json                 one entry per case: name, input (file), image [h, w], input_size
                             [h, w], interpolation, crop_pct, crop_mode, mean, std, shape [3, h, w],
                             file
  <case>.bin                 timm's output, float32 little-endian, CHW
  versions.txt               the timm / torch / torchvision / Pillow versions that produced them

Generated with timm 1.0.31, torchvision 0.29.2 and Pillow 13.0.0. Pillow before 13 resamples in a
different pass order in one case (see below), so regenerate with Pillow >= 13.

    /path/to/venv-with-timm/bin/python scripts/make_preprocess_fixture.py
"""
import json
import pathlib

import numpy as np
import PIL
import timm
import torch
import torchvision
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, create_transform

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "preprocess"
H, W = 41, 53
INCEPTION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
IMAGENET = (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)

# name, input file, input_size (h, w), interpolation, crop_pct, crop_mode, (mean, std)
CASES = [
    ("bicubic_down_24", "input.bin", (24, 24), "bicubic", 0.875, "center", IMAGENET),
    # 41x53 -> 35x45, then a crop offset of 6.5 that Python's round() takes to 6.
    ("bilinear_down_32", "input.bin", (32, 32), "bilinear", 0.9, "center", IMAGENET),
    ("bicubic_up_64", "input.bin", (64, 64), "bicubic", 1.0, "center", INCEPTION),
    ("squash_bilinear_20x28", "input.bin", (20, 28), "bilinear", 0.9, "squash", IMAGENET),
    ("nearest_down_24", "input.bin", (24, 24), "nearest", 0.875, "center", IMAGENET),
    ("nearest_up_48", "input.bin", (48, 48), "nearest", 1.0, "center", IMAGENET),
    ("lanczos_down_20", "input.bin", (20, 20), "lanczos", 0.95, "center", IMAGENET),
    ("hamming_down_16", "input.bin", (16, 16), "hamming", 0.875, "center", IMAGENET),
    ("box_down_16", "input.bin", (16, 16), "box", 0.875, "center", IMAGENET),
    # A non-square target in center mode goes through timm's ResizeKeepRatio.
    ("bicubic_center_24x40", "input.bin", (24, 40), "bicubic", 0.95, "center", IMAGENET),
    # Border mode: longest edge to 36, pad the short one with round(255 * mean), crop to 32.
    ("border_bicubic_32", "input.bin", (32, 32), "bicubic", 0.875, "border", IMAGENET),
    ("bicubic_tall_24", "input_tall.bin", (24, 24), "bicubic", 0.875, "center", IMAGENET),
    # Height shrinks by more than twice as many pixels as the width: Pillow >= 13 resamples
    # vertically first (python-pillow/Pillow#9549), older Pillow horizontally first.
    ("squash_bicubic_vfirst_8x48", "input.bin", (8, 48), "bicubic", 1.0, "squash", IMAGENET),
]


def test_image() -> np.ndarray:
    """Smooth gradients, a few sharp edges (with saturated 0/255 areas) and some noise."""
    rng = np.random.default_rng(2026)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.stack(
        [
            255 * x / (W - 1),
            255 * y / (H - 1),
            127.5 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0),
        ],
        axis=-1,
    )
    img[10:18, 12:30] = (255, 0, 40)  # a sharp rectangle
    img[:, 40:42] = (0, 0, 0)  # a thin dark line
    img[(x + y > 70) & (x - y < 20)] *= 0.35  # a diagonal edge
    img[30:, :8] = 255  # a saturated corner
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    img = test_image()
    inputs = {"input.bin": img, "input_tall.bin": np.ascontiguousarray(img.transpose(1, 0, 2))}
    for name, arr in inputs.items():
        (OUT / name).write_bytes(arr.tobytes())
    cases = []
    for name, src, size, interp, crop_pct, crop_mode, (mean, std) in CASES:
        arr = inputs[src]
        tf = create_transform(
            input_size=(3, *size),
            is_training=False,
            interpolation=interp,
            crop_pct=crop_pct,
            crop_mode=crop_mode,
            mean=mean,
            std=std,
        )
        out = tf(Image.fromarray(arr, "RGB")).numpy().astype("<f4")
        assert out.shape == (3, *size), (name, out.shape)
        (OUT / f"{name}.bin").write_bytes(out.tobytes())
        cases.append(
            {
                "name": name,
                "input": src,
                "image": list(arr.shape[:2]),
                "input_size": list(size),
                "interpolation": interp,
                "crop_pct": crop_pct,
                "crop_mode": crop_mode,
                "mean": list(mean),
                "std": list(std),
                "shape": list(out.shape),
                "file": f"{name}.bin",
            }
        )
    (OUT / "cases.json").write_text("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]\n")
    versions = {"timm": timm, "torch": torch, "torchvision": torchvision, "Pillow": PIL}
    lines = [f"{name} {module.__version__}\n" for name, module in versions.items()]
    (OUT / "versions.txt").write_text("".join(lines))
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(cases)} cases to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
