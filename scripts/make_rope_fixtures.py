#!/usr/bin/env python3
"""timm's rotary tables at real sizes, one per layout (`tests/fixtures/rope/tables.safetensors`):
what `RotaryEmbeddingCat`, `RotaryEmbeddingDinoV3` and `RotaryEmbeddingMixed` return from
`get_embed()` — `[patches, 2·head_dim]` (sin | cos) or, mixed, `[depth, heads, patches, 2·head_dim]`
— for head width 64 at each family's native grid and at another grid. Run outside CI:

    ~/venv-timm/bin/python scripts/make_rope_fixtures.py
"""
import pathlib

import torch
from safetensors.torch import save_file
from timm.layers.pos_embed_sincos import (RotaryEmbeddingCat, RotaryEmbeddingDinoV3,
                                          RotaryEmbeddingMixed)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "rope" / "tables.safetensors"


def main() -> None:
    torch.manual_seed(0)
    out = {}
    # EVA-02 B/14 at 224 (16x16, ij, interleaved, ref 16x16) and at 140 (10x10, rescaled to the
    # reference grid).
    for name, grid in [("eva02_16x16", (16, 16)), ("eva02_10x10", (10, 10))]:
        rope = RotaryEmbeddingCat(dim=64, in_pixels=False, feat_shape=list(grid),
                                  ref_feat_shape=[16, 16], temperature=10000.0)
        out[name] = rope.get_embed()
    # PE: xy indexing, grid offset 1, ref 24x24, at 12x12 and at a non-square 9x15.
    for name, grid in [("pe_12x12", (12, 12)), ("pe_9x15", (9, 15))]:
        rope = RotaryEmbeddingCat(dim=64, in_pixels=False, feat_shape=list(grid),
                                  ref_feat_shape=[24, 24], grid_offset=1.0, grid_indexing="xy")
        out[name] = rope.get_embed()
    # DINOv3: centred coordinates, periods from temperature 100, rotate-half, at 14x14 and 8x12.
    for name, grid in [("dinov3_14x14", (14, 14)), ("dinov3_8x12", (8, 12))]:
        rope = RotaryEmbeddingDinoV3(dim=64, temperature=100.0, feat_shape=list(grid), rotate_half=True)
        out[name] = rope.get_embed()
    # RoPE-ViT mixed: learned frequencies (2 blocks, 1 head of 64, xy), at 14x14 and 8x12.
    mixed = RotaryEmbeddingMixed(dim=64, depth=2, num_heads=1, temperature=10.0, grid_indexing="xy")
    out["mixed_freqs"] = mixed.freqs.detach().clone()
    for name, grid in [("mixed_14x14", (14, 14)), ("mixed_8x12", (8, 12))]:
        out[name] = mixed.get_embed(shape=list(grid)).detach()
    save_file({k: v.contiguous() for k, v in out.items()}, OUT)
    print({k: tuple(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
