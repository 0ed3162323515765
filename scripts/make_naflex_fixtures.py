#!/usr/bin/env python3
"""Parity fixtures for timm's NaFlexViT (`naflexvit.py`) at fixed resolution: each case is a
pretrained architecture built by its own entrypoint with shrinking arguments, random weights
(redrawn after timm's init, fixed seed), saved as a timm / hub folder with timm's outputs for
standard image batches at the built size and at another size.

    ~/venv-timm/bin/python scripts/make_naflex_fixtures.py     # writes tests/fixtures/timm/naflex_*/

io.safetensors: input, logits, pre_logits, features; other.input, other.logits, other.features.
The position tables are stored on their own grid (not the image's), so both sizes resample them:
bicubic antialiased (`gap`), aspect-preserving (`par_gap`: resampled to the longer side, then the
top-left crop), factorised (`parfac_gap`: two 1-D linear tables), bilinear antialiased (SigLIP,
attention pool, GELU-tanh) and bilinear without antialiasing, with and without aligned corners
(C-RADIO v3 / v4: class-token pooling, no final norm, 7 or 9 registers).
"""
import pathlib
import sys

import timm
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_timm_fixtures import redraw_, write_hub_config  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm"
SMALL = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10,
             pos_embed_grid_size=(6, 6))

# name: (architecture, model_args, another size to run at)
CASES = {
    "naflex_gap": ("naflexvit_base_patch16_gap", SMALL, (48, 40)),
    "naflex_par_gap": ("naflexvit_base_patch16_par_gap", SMALL, (48, 32)),
    "naflex_parfac_gap": ("naflexvit_base_patch16_parfac_gap", SMALL, (40, 56)),
    "naflex_siglip": ("naflexvit_base_patch16_siglip", SMALL, (40, 48)),
    "naflex_radio_v3": ("naflexvit_base_patch16_radio_v3", dict(SMALL, pos_embed_grid_size=(8, 8)),
                        (48, 40)),
    "naflex_radio_v4": ("naflexvit_so400m_patch16_radio_v4",
                        dict(SMALL, pos_embed_grid_size=(8, 8), mlp_ratio=4.0), (32, 56)),
}


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(4242)
    for case, (arch, args, other) in CASES.items():
        model = timm.create_model(arch, pretrained=False, **args).eval()
        redraw_(model, generator)
        folder = OUT / case
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  folder / "model.safetensors")
        x = torch.randn((2, 3, 32, 32), generator=generator)
        y = torch.randn((2, 3, *other), generator=generator)
        with torch.no_grad():
            features = model.forward_features(x)
            out = {"input": x, "features": features,
                   "pre_logits": model.forward_head(features, pre_logits=True),
                   "logits": model.forward_head(features),
                   "other.input": y, "other.logits": model(y),
                   "other.features": model.forward_features(y)}
        save_file({k: v.contiguous() for k, v in out.items()}, folder / "io.safetensors")
        write_hub_config(folder, arch, args, model.num_features)
        print(f"{case}: logits |max| {out['logits'].abs().max():.3f}, "
              f"keys {[k for k in model.state_dict() if k.startswith('embeds')]}")
    print(f"timm {timm.__version__}, torch {torch.__version__} -> {OUT}")


if __name__ == "__main__":
    main()
