#!/usr/bin/env python3
"""Parity fixtures for timm's relative-position families (catalogue part 3): Swin V2
(`swin_transformer_v2.py`), Swin-S3, BEiT (`beit.py`), ViT-relpos (`vision_transformer_relpos.py`)
and checkpoints whose relative position tables are
made for another window or grid than the model (timm resizes them while loading: Swin V1, BEiT).
Each case is a timm architecture built by its own entrypoint with shrinking `model_args`, random
weights (redrawn after timm's init, fixed seed), saved as a timm / hub folder with timm's outputs.

    ~/venv-timm/bin/python scripts/make_relpos_fixtures.py   # writes tests/fixtures/timm/{beit,relpos}_*/

Each folder: config.json, model.safetensors, io.safetensors with
  input, logits, pre_logits, features      at the built size
  other.input, other.logits, other.features at another size (Swin V2 with dynamic sizes)
  intermediates.{i}                        every block (Swin: stage), NCHW (timm's
                                           forward_intermediates)
The `*_resize` cases hold a checkpoint made for another size; their outputs are those of the
model timm builds from `config.json` after loading that checkpoint through its checkpoint filter.
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

SWIN = dict(img_size=40, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4), num_classes=10)

# name: (architecture, model_args[, another size to run at])
CASES = {
    # Swin V2: cosine attention with a learned scale, the continuous position bias MLP, residual
    # post-norm blocks, patch merging normed after its Linear; padded, shifted windows of 6.
    "swinv2_2stage": ("swinv2_tiny_window8_256", dict(SWIN, window_size=6)),
    # A fine-tune's windows (8) larger than its pre-training's (6, then 4): the bias MLP's
    # offsets are scaled by the pre-training windows.
    "swinv2_pretrained_window": ("swinv2_base_window12to16_192to256",
                                 dict(SWIN, img_size=32, window_size=8,
                                      pretrained_window_sizes=(6, 4))),
    # Any input size: shift masks and bias for the padded map at run time.
    "swinv2_dynamic": ("swinv2_tiny_window8_256", dict(SWIN, window_size=6, strict_img_size=False),
                       (48, 36)),
    # Swin-S3: a window per stage (4 with shifts at 16x16, 8 covering the whole 8x8 map, 4 the
    # whole 4x4 one). (A list of two would be one non-square window for timm.)
    "swin_s3": ("swin_s3_tiny_224", dict(SWIN, img_size=32, depths=(2, 2, 2), num_heads=(2, 4, 8),
                                         window_size=(4, 8, 4))),
    # BEiT: a relative position table per block (with the class token's three entries), no
    # absolute position embedding, q/v biases, LayerScale 0.1, average pooling with fc_norm.
    "beit_v1": ("beit_base_patch16_224", SMALL),
    # BEiT with one shared table, an absolute position embedding and class-token pooling.
    "beit_shared": ("beit_base_patch16_224",
                    dict(SMALL, use_rel_pos_bias=False, use_shared_rel_pos_bias=True,
                         use_abs_pos_emb=True, global_pool="token")),
    # ViT-relpos: per-block relative position MLPs ('cr' log coordinates), no class token, no
    # qkv bias, average pooling with fc_norm.
    "relpos_gap": ("vit_relpos_small_patch16_224", SMALL),
    # Shared relative position MLP, final norm and average pooling.
    "relpos_shared": ("vit_srelpos_small_patch16_224", dict(SMALL, rel_pos_dim=16)),
    # A class token (zero bias to and from it) and class-token pooling.
    "relpos_cls": ("vit_relpos_medium_patch16_cls_224", dict(SMALL, rel_pos_dim=24)),
    # Residual post-norm blocks (ResPostRelPosBlock).
    "relpos_res_post": ("vit_relpos_base_patch32_plus_rpn_256", SMALL),
}
INTERMEDIATES = {"beit_v1", "relpos_gap", "swinv2_2stage"}

# name: (architecture, checkpoint's model_args, the model's model_args, module with the filter)
RESIZE_CASES = {
    # A window-7 Swin checkpoint (56 px, 4 px patches: stages of 14x14 and 7x7) configured for
    # window 12 at 96 px (24x24 and 12x12): every table goes from 13x13 to 23x23 offsets.
    "swin_window_resize": (
        "swin_tiny_patch4_window7_224",
        dict(img_size=56, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=7,
             num_classes=10),
        dict(img_size=96, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=12,
             num_classes=10),
        timm.models.swin_transformer,
    ),
    # A BEiT checkpoint for a 4x4 grid loaded at 48 px (6x6): tables from 7x7 to 11x11 offsets
    # (the class-token entries kept).
    "beit_grid_resize": ("beit_base_patch16_224", SMALL, dict(SMALL, img_size=48),
                         timm.models.beit),
}


def write_case(folder: pathlib.Path, model, state: dict, size, generator, intermediates: bool,
               other=None):
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    size = (size, size) if isinstance(size, int) else tuple(size)
    x = torch.randn((2, 3, *size), generator=generator)
    out = {"input": x}
    with torch.no_grad():
        features = model.forward_features(x)
        out.update(features=features, pre_logits=model.forward_head(features, pre_logits=True),
                   logits=model.forward_head(features))
        if intermediates:
            for i, t in enumerate(model.forward_intermediates(x, intermediates_only=True)):
                out[f"intermediates.{i}"] = t
        if other is not None:
            y = torch.randn((2, 3, *other), generator=generator)
            out.update({"other.input": y, "other.logits": model(y),
                        "other.features": model.forward_features(y)})
    save_file({k: v.contiguous() for k, v in out.items()}, folder / "io.safetensors")
    return out


def randomise(model, generator):
    redraw_(model, generator)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.split(".")[-1].startswith("gamma_"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=generator))


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(2028)
    for case, (arch, args, *other) in CASES.items():
        model = timm.create_model(arch, pretrained=False, **args).eval()
        randomise(model, generator)
        folder = OUT / case
        out = write_case(folder, model, model.state_dict(), args["img_size"], generator,
                         case in INTERMEDIATES, other[0] if other else None)
        write_hub_config(folder, arch, args, model.num_features, args["img_size"])
        print(f"{case}: logits |max| {out['logits'].abs().max():.3f}")
    for case, (arch, saved_args, args, module) in RESIZE_CASES.items():
        saved = timm.create_model(arch, pretrained=False, **saved_args).eval()
        randomise(saved, generator)
        state = saved.state_dict()
        model = timm.create_model(arch, pretrained=False, **args).eval()
        model.load_state_dict(module.checkpoint_filter_fn(dict(state), model))
        folder = OUT / case
        size = args["img_size"]
        out = write_case(folder, model, state, size, generator, False)
        write_hub_config(folder, arch, args, model.num_features, size)
        print(f"{case}: logits |max| {out['logits'].abs().max():.3f}")
    print(f"timm {timm.__version__}, torch {torch.__version__} -> {OUT}")


if __name__ == "__main__":
    main()
