#!/usr/bin/env python3
"""Parity fixtures for timm's `eva.py` family (EVA, EVA-02, DINOv3, PE, RoPE-ViT): each case is
a timm architecture built by its own entrypoint with shrinking `model_args`, random weights
(redrawn after timm's init, fixed seed), saved as a timm / hub folder with timm's outputs.

    ~/venv-timm/bin/python scripts/make_eva_fixtures.py     # writes tests/fixtures/timm/eva_*/

Each folder: config.json, model.safetensors, io.safetensors with
  input, logits, pre_logits, features                       at the built size
  other.input, other.logits, other.features                  at another size (dynamic_img_size)
  intermediates.{i}                                          every block, NCHW (timm's
                                                             forward_intermediates)
One case per rotary layout at two sizes: `cat` interleaved (EVA-02, with ref_feat_shape
rescaling), `cat` in `xy` order with a grid offset (PE), `dinov3` (rotate-half), `mixed` (learned
per-block frequencies).
"""
import pathlib
import sys

import timm
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_timm_fixtures import redraw_, write_hub_config  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm"
SMALL = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10)
OTHER = (48, 40)

# name: (architecture, model_args, another size to run at or None)
CASES = {
    # EVA-02: cat RoPE, interleaved, positions rescaled to ref_feat_shape 16x16; separate q/k/v
    # projections with q_bias/v_bias; packed SwiGLU (GluMlp).
    "eva_eva02": ("eva02_small_patch14_224", SMALL, None),
    "eva_eva02_dynamic": ("eva02_small_patch14_224", dict(SMALL, dynamic_img_size=True), OTHER),
    # EVA-02 CLIP: SwiGLU with its inner norm (scale_mlp), class-token pooling.
    "eva_eva02_clip": ("eva02_base_patch16_clip_224", SMALL, None),
    # DINOv3: dinov3 RoPE (rotate-half, centred coordinates), 4 registers, LayerScale, no qkv
    # bias, no absolute position embedding; dynamic size as timm builds it.
    "eva_dinov3": ("vit_small_patch16_dinov3", SMALL, OTHER),
    # DINOv3 with q/k/v biases.
    "eva_dinov3_qkvb": ("vit_small_patch16_dinov3_qkvb", SMALL, OTHER),
    # Naver RoPE-ViT mixed: learned per-block, per-head frequencies (rope.freqs).
    "eva_rope_mixed": ("vit_small_patch16_rope_mixed_224", dict(SMALL, dynamic_img_size=True), OTHER),
    # RoPE-ViT axial with an absolute position embedding that skips the class token (xy order).
    "eva_rope_ape": ("vit_small_patch16_rope_ape_224", dict(SMALL, dynamic_img_size=True), OTHER),
    # Perception Encoder core: pre-norm, cat RoPE in xy order with grid offset 1, attention pool
    # of 8 heads over every token, LayerNorm eps 1e-5.
    "eva_pe_core": ("vit_pe_core_tiny_patch16_384", SMALL, None),
    # EVA-01: no RoPE, plain MLP, fused qkv with q_bias/v_bias.
    "eva_eva01": ("eva_giant_patch14_224", SMALL, None),
    # Sapiens2: grouped-query attention (4 query heads over 2, then 1, key/value heads),
    # per-head RMSNorm on q and k, attention-only LayerScale, dinov3 RoPE, 8 registers.
    "eva_sapiens2_gqa": ("vit_large_patch16_sapiens2",
                         dict(SMALL, num_heads=4, num_kv_heads=(2, 1), img_size=(32, 32)), OTHER),
    # EVA-02 enormous: post-norm blocks (EvaBlockPostNorm), no RoPE, class-token pooling.
    "eva_post_norm": ("eva02_enormous_patch14_clip_224", SMALL, None),
    # PE spatial: pre-norm and no norm after the blocks or after pooling (average pooling).
    "eva_pe_spatial": ("vit_pe_spatial_tiny_patch16_512", SMALL, None),
    # DINOv3 S+: SwiGLU whose hidden width (32 x 2.6 = 83) is rounded up to 88 (swiglu_align_to 8).
    "eva_swiglu_align": ("vit_small_plus_patch16_dinov3", dict(SMALL, mlp_ratio=2.6), None),
}
INTERMEDIATES = {"eva_eva02", "eva_dinov3", "eva_rope_mixed"}


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(2027)
    for case, (arch, args, other) in CASES.items():
        model = timm.create_model(arch, pretrained=False, **args).eval()
        redraw_(model, generator)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.split(".")[-1].startswith("gamma_"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=generator))
        folder = OUT / case
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  folder / "model.safetensors")
        x = torch.randn((2, 3, 32, 32), generator=generator)
        out = {"input": x}
        with torch.no_grad():
            features = model.forward_features(x)
            out.update(features=features, pre_logits=model.forward_head(features, pre_logits=True),
                       logits=model.forward_head(features))
            if case in INTERMEDIATES:
                for i, t in enumerate(model.forward_intermediates(x, intermediates_only=True)):
                    out[f"intermediates.{i}"] = t
            if other is not None:
                y = torch.randn((2, 3, *other), generator=generator)
                out.update({"other.input": y, "other.logits": model(y),
                            "other.features": model.forward_features(y)})
        save_file({k: v.contiguous() for k, v in out.items()}, folder / "io.safetensors")
        write_hub_config(folder, arch, args, model.num_features)
        print(f"{case}: logits |max| {out['logits'].abs().max():.3f}")
    print(f"timm {timm.__version__}, torch {torch.__version__} -> {OUT}")


if __name__ == "__main__":
    main()
