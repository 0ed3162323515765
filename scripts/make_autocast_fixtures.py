#!/usr/bin/env python3
"""Mixed-precision references: timm's logits under PyTorch's autocast for the committed fixtures.

Run in a venv with torch, timm and safetensors, outside the repository (never in CI):

    ~/venv-timm/bin/python scripts/make_autocast_fixtures.py    # writes tests/fixtures/timm/*/autocast.safetensors

For each case the fixture folder's own weights (`model.safetensors`, loaded by timm from the
folder) and input (`io.safetensors`) are run three ways on the CPU:
  logits_f32   no autocast (equal to io.safetensors' logits: a check that the folder loads)
  logits_bf16  under torch.autocast("cpu", dtype=torch.bfloat16)
  logits_f16   under torch.autocast("cpu", dtype=torch.float16)
The Rust tests measure how far PyTorch's autocast moves the logits from f32 and hold our bf16/f16
forward to a bound derived from that distance (see crates/vit-variants/tests/suite/precision.rs).
"""
import pathlib

import timm
import torch
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm"
CASES = ["vit_cls", "vit_map", "deit_distilled", "swin_2stage"]


def main() -> None:
    for case in CASES:
        folder = ROOT / case
        model = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
        x = load_file(str(folder / "io.safetensors"))["input"]
        out = {}
        with torch.no_grad():
            out["logits_f32"] = model(x).float().contiguous()
            for name, dtype in [("bf16", torch.bfloat16), ("f16", torch.float16)]:
                with torch.autocast("cpu", dtype=dtype):
                    out[f"logits_{name}"] = model(x).float().contiguous()
        expected = load_file(str(folder / "io.safetensors"))["logits"]
        assert (out["logits_f32"] - expected).abs().max() < 1e-5, f"{case}: the folder did not load"
        save_file(out, str(folder / "autocast.safetensors"))
        moved = {k: float((v - out["logits_f32"]).abs().max()) for k, v in out.items() if k != "logits_f32"}
        scale = float(out["logits_f32"].abs().max())
        print(f"{case}: max |logits| {scale:.3f}, autocast moves them by "
              + ", ".join(f"{k} {v:.2e}" for k, v in moved.items()))


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
