#!/usr/bin/env python3
"""How far TF32 matrix products move timm's own outputs on the parity fixtures — the yardstick
for CUDA parity, where CubeCL runs f32 matrix products on TF32 tensor cores (cubek-matmul
`adjust_dtypes`). Emulated on the CPU: every Linear / matmul / conv operand rounded to TF32
(10 explicit mantissa bits, round to nearest even) before an f32 product.

    ~/venv-timm/bin/python scripts/tf32_error_bound.py
"""
import pathlib

import timm  # noqa: F401  (registers the architectures)
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from timm.models import create_model

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm"


def tf32(x: torch.Tensor) -> torch.Tensor:
    bits = x.contiguous().view(torch.int32)
    # Round to nearest even on the 13 dropped mantissa bits.
    bias = ((bits >> 13) & 1) + 0x0FFF
    return ((bits + bias) & ~0x1FFF).view(torch.float32)


def main() -> None:
    linear, matmul, conv2d, sdpa = F.linear, torch.matmul, F.conv2d, F.scaled_dot_product_attention
    for case in ["vit_cls", "vit_gap", "vit_p4_d3_h4", "vit_map", "vit_dynamic", "deit_distilled", "swin_2stage"]:
        folder = FIXTURES / case
        model = create_model(f"local-dir:{folder}", pretrained=True).eval()
        io = load_file(folder / "io.safetensors")
        with torch.no_grad():
            F.linear = lambda x, w, b=None: linear(tf32(x), tf32(w), b)
            torch.matmul = lambda a, b: matmul(tf32(a), tf32(b))
            F.conv2d = lambda x, w, *a, **k: conv2d(tf32(x), tf32(w), *a, **k)
            F.scaled_dot_product_attention = lambda q, k, v, *a, **kw: sdpa(tf32(q), tf32(k), tf32(v), *a, **kw)
            try:
                features = model.forward_features(io["input"])
                logits = model.forward_head(features)
            finally:
                F.linear, torch.matmul, F.conv2d, F.scaled_dot_product_attention = linear, matmul, conv2d, sdpa
        print(f"{case}: TF32 vs f32 timm: features {float((features - io['features']).abs().max()):.2e}, "
              f"logits {float((logits - io['logits']).abs().max()):.2e}")


if __name__ == "__main__":
    main()
