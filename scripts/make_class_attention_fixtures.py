#!/usr/bin/env python3
"""Parity fixtures for timm's class-attention families (catalogue part 3): CaiT (`cait.py`) and
XCiT (`xcit.py`). Each case is a timm architecture built by its own entrypoint with shrinking
`model_args`, random weights (redrawn after timm's init, fixed seed), saved as a timm / hub
folder with timm's outputs (the layout of `make_relpos_fixtures.py`).

    ~/venv-timm/bin/python scripts/make_class_attention_fixtures.py   # tests/fixtures/timm/{cait,xcit}_*/
"""
import pathlib
import sys

import timm
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_relpos_fixtures import OUT, randomise, write_case  # noqa: E402
from make_timm_fixtures import write_hub_config  # noqa: E402

SMALL = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=10)

# name: (architecture, model_args[, another size to run at])
CASES = {
    # CaiT: talking-heads attention (4 heads mixed before and after the softmax), LayerScale,
    # position embedding of the patches only, two class-attention blocks, class-token pooling.
    "cait_s24": ("cait_s24_224", SMALL),
    # XCiT with 16-pixel patches (four stride-2 convolutions with BatchNorm and GELU), Fourier
    # positions, cross-covariance attention, the local patch interaction, class attention that
    # norms only the class token; and at another size (timm's XCiT takes any).
    "xcit_p16": ("xcit_small_12_p16_224", dict(SMALL, img_size=64, patch_size=16), (48, 80)),
    # 8-pixel patches (three convolutions) and class attention that norms every token.
    "xcit_p8_tokens_norm": ("xcit_tiny_12_p8_224", SMALL),
}
INTERMEDIATES = {"cait_s24", "xcit_p16"}


def randomise_batch_norms(model, generator):
    """Running statistics away from 0 and 1, so that a BatchNorm read wrongly shows."""
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.copy_(0.1 * torch.randn(buffer.shape, generator=generator))
            elif name.endswith("running_var"):
                buffer.copy_(0.5 + torch.rand(buffer.shape, generator=generator))


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(2029)
    for case, (arch, args, *other) in CASES.items():
        model = timm.create_model(arch, pretrained=False, **args).eval()
        randomise(model, generator)
        randomise_batch_norms(model, generator)
        folder = OUT / case
        out = write_case(folder, model, model.state_dict(), args["img_size"], generator,
                         case in INTERMEDIATES, other[0] if other else None)
        write_hub_config(folder, arch, args, model.num_features, args["img_size"])
        print(f"{case}: logits |max| {out['logits'].abs().max():.3f}")
    print(f"timm {timm.__version__}, torch {torch.__version__} -> {OUT}")


if __name__ == "__main__":
    main()
