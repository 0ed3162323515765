#!/usr/bin/env python3
"""Parity fixtures: timm models with random weights, a fixed input, and timm's outputs.

Run in a venv outside the repository (never in CI):

    python3 -m venv ~/venv-timm && ~/venv-timm/bin/pip install torch timm safetensors numpy
    ~/venv-timm/bin/python scripts/make_timm_fixtures.py            # writes tests/fixtures/timm/

Each case is a folder laid out as timm / the Hugging Face hub serve a model:
  config.json          architecture, num_classes, model_args, pretrained_cfg
  model.safetensors    the state dict (pytorch_model.bin for the `.pth` case)
  io.safetensors       input [B,C,H,W], logits [B,classes], features [B,tokens,dim], pre_logits
Weights are redrawn after timm's init so that biases, norms and tokens are not at trivial values
(a zero bias or a unit LayerNorm would hide a loading mistake).
"""
import json
import pathlib

import numpy as np
import timm
import torch
from safetensors.torch import save_file
from timm.layers import resample_abs_pos_embed
from timm.models.deit import VisionTransformerDistilled
from timm.models.swin_transformer import SwinTransformer

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "timm"

# name: (architecture for config.json, model_args, input size at run time, batch)
CASES = {
    # Class-token ViT, learned position embedding.
    "vit_cls": ("vit_tiny_patch16_224",
                dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10),
                (32, 32), 2),
    # GAP ViT: no class token, average pooling with fc_norm.
    "vit_gap": ("vit_tiny_patch16_224",
                dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10,
                     class_token=False, global_pool="avg"),
                (32, 32), 2),
    # Another patch size, depth, head count and class count; LayerScale, no qkv bias.
    "vit_p4_d3_h4": ("vit_small_patch16_224",
                     dict(img_size=24, patch_size=4, embed_dim=64, depth=3, num_heads=4, num_classes=7,
                          qkv_bias=False, init_values=0.1),
                     (24, 24), 3),
    # Attention pooling (MAP head).
    "vit_map": ("vit_base_patch16_224",
                dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=5,
                     class_token=False, global_pool="map"),
                (32, 32), 2),
    # Built at 32x32, run at 48x40: the position embedding is resampled on the fly.
    "vit_dynamic": ("vit_tiny_patch16_224",
                    dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10,
                         dynamic_img_size=True),
                    (48, 40), 2),
}

# DeiT and Swin (vit-variants): name -> (architecture, class, model_args, run size, batch).
VARIANT_CASES = {
    # Distillation token and head; inference mean and the training-mode pair.
    "deit_distilled": ("deit_tiny_distilled_patch16_224", VisionTransformerDistilled,
                       dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10),
                       (32, 32), 2),
    # Two stages; 20x20 and 10x10 grids are not multiples of the window (6): padded, shifted.
    "swin_2stage": ("swin_tiny_patch4_window7_224", SwinTransformer,
                    dict(img_size=40, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4),
                         window_size=6, num_classes=10),
                    (40, 40), 2),
    # Three stages, 28 -> 14 -> 7: the last stage is exactly one window (no shift there).
    "swin_3stage": ("swin_tiny_patch4_window7_224", SwinTransformer,
                    dict(img_size=56, patch_size=2, embed_dim=16, depths=(2, 2, 2), num_heads=(2, 2, 4),
                         window_size=7, num_classes=6),
                    (56, 56), 2),
}

# Added later, drawn after the others so that their weights stay as committed.
LATE_CASES = {
    # Any size with padding: built at 32x32, run at 45x37 (zero-padded to 48x40, a 6x5 grid).
    "vit_dynamic_pad": ("vit_tiny_patch16_224",
                        dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10,
                             dynamic_img_size=True, dynamic_img_pad=True),
                        (45, 37), 2),
}

# The catalogue's options (added later still, drawn after all of the above): timm architectures
# built by their own entrypoints (`timm.create_model(arch, **model_args)`: the entrypoint's options
# stay, model_args shrink the model), as a hub folder built from them would be.
# name: (architecture, model_args, input size at run time, batch)
SMALL = dict(img_size=32, patch_size=8, embed_dim=24, depth=2, num_heads=3, num_classes=10)
CATALOGUE_CASES = {
    # DINOv2 with registers: 4 register tokens, no position embedding for the prefix, LayerScale.
    "cat_dinov2_reg": ("vit_small_patch14_reg4_dinov2", SMALL, (32, 32), 2),
    # OpenAI CLIP: pre-norm (no patch bias), LayerNorm eps 1e-5, QuickGELU.
    "cat_clip_quickgelu": ("vit_base_patch16_clip_quickgelu_224", SMALL, (32, 32), 2),
    # SigLIP so400m/16: attention pool whose MLP uses GELU-tanh, as the blocks.
    "cat_siglip_tanh_map": ("vit_so400m_patch16_siglip_256", SMALL, (32, 32), 2),
    # SigLIP with register tokens: the attention pool skips the prefix tokens.
    "cat_siglip_reg_map": ("vit_base_patch16_siglip_224", dict(SMALL, reg_tokens=2), (32, 32), 2),
    # AIMv2: RMSNorm everywhere and after the patch embedding, SwiGLU (SiLU), no qkv/proj biases.
    "cat_aimv2": ("aimv2_large_patch14_224", dict(SMALL, mlp_ratio=2.75), (32, 32), 2),
    # DINOv2-g: packed SwiGLU (GluMlp, gate first), mlp_ratio 5.33334 (width 24: hidden 128).
    "cat_dinov2_packed": ("vit_giant_patch14_dinov2", SMALL, (32, 32), 2),
    # RADIO v3: 7 registers and no final norm.
    "cat_radio_no_final_norm": ("vit_base_patch16_radio_v3", SMALL, (32, 32), 2),
    # BEiT-3: norms inside the attention (before proj) and the MLP (before fc2), eps 1e-5.
    "cat_beit3_inner_norms": ("beit3_base_patch16_224", SMALL, (32, 32), 2),
    # ResPostBlock: post-norm blocks whose norms start at init_values, average pooling.
    "cat_res_post": ("vit_base_patch16_rpn_224", SMALL, (32, 32), 2),
    # timm's test_vit3: a register token, attention pool over the prefix tokens too.
    "cat_pool_prefix": ("test_vit3", SMALL, (32, 32), 2),
    # SigLIP so400m/14 at 384: a side that does not split into patches (the conv drops 6 pixels).
    "cat_crop_remainder": ("vit_so400m_patch14_siglip_384",
                           dict(SMALL, img_size=38, patch_size=6), (38, 38), 2),
    # Differential attention (vit_dwee): head pairs A1 - lambda*A2, per-head RMSNorm, lambda_init
    # by depth (two blocks: two values).
    "cat_diff_attention": ("vit_dwee_patch16_reg1_gap_256", SMALL, (32, 32), 2),
    # ParallelScalingBlock (vit_pwee): one norm and one input projection, separate outputs; and
    # without qkv bias (the MLP part's own `mlp_bias`).
    "cat_parallel_block": ("vit_pwee_patch16_reg1_gap_256", SMALL, (32, 32), 2),
    "cat_parallel_mlp_bias": ("vit_pwee_patch16_reg1_gap_256", dict(SMALL, qkv_bias=False),
                              (32, 32), 2),
    # DiffParallelScalingBlock (vit_dpwee): differential attention in the parallel block, fused
    # output projection.
    "cat_diff_parallel": ("vit_dpwee_patch16_reg1_gap_256", SMALL, (32, 32), 2),
    # R+ViT-Ti/S16 p8: the ResNetV2 stem alone (StdConv2dSame 7x7/2, GroupNorm, MaxPool2dSame)
    # before a patch projection, as timm's entrypoint builds it.
    "cat_hybrid_stem": ("vit_tiny_r_s16_p8_224", dict(SMALL, patch_size=4), (32, 32), 2),
}

# Hybrids whose CNN is too large for a fixture at timm's widths: built from timm's own classes as
# `_resnetv2` / `vit_base_mci_224` build them, with narrower stages; `model_args.backbone` (our
# catalogue's description of the stem) tells the loader the same shape.
# name: (architecture, backbone description, model_args, input size, batch)
HYBRID_CASES = {
    # R50+ViT-B/16's structure: 3 stages, output stride 16, bottlenecks with projection shortcuts.
    "cat_hybrid_r50": ("vit_base_r50_s16_224",
                       dict(name="resnetv2", layers=[2, 1, 1], channels=[128, 128, 128], stem_chs=64),
                       dict(SMALL, img_size=64, patch_size=1), (64, 64), 2),
    # R26+ViT-S/32's structure: 4 stages, output stride 32.
    "cat_hybrid_r26": ("vit_small_r26_s32_224",
                       dict(name="resnetv2", layers=[1, 1, 1, 1], channels=[128, 128, 128, 128],
                            stem_chs=64),
                       dict(SMALL, img_size=64, patch_size=1), (64, 64), 2),
    # vit_base_mci_224: ConvStem (BatchNorm + GELU, no padding), no projection after it.
    "cat_hybrid_convstem": ("vit_base_mci_224",
                            dict(name="conv_stem", channels=[8, 8, 24], stride=[4, 2, 2],
                                 kernel_size=[4, 2, 2]),
                            dict(SMALL, patch_size=1, no_embed_class=True, embed_args=dict(proj=False)),
                            (32, 32), 2),
}


def build_hybrid(stem: dict, args: dict) -> torch.nn.Module:
    """A VisionTransformer with timm's HybridEmbed over the stem `stem` describes."""
    from functools import partial
    from timm.layers import HybridEmbed, StdConv2dSame
    from timm.models.resnetv2 import ResNetV2
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.vision_transformer_hybrid import ConvStem
    if stem["name"] == "resnetv2":
        backbone = ResNetV2(layers=stem["layers"], channels=stem["channels"], stem_chs=stem["stem_chs"],
                            num_classes=0, global_pool="", preact=False, stem_type="same",
                            conv_layer=partial(StdConv2dSame, eps=1e-8))
    else:
        backbone = ConvStem(channels=tuple(stem["channels"]), stride=tuple(stem["stride"]),
                            kernel_size=tuple(stem["kernel_size"]), padding=0, act_layer=torch.nn.GELU)
    args = dict(args)
    embed_args = args.pop("embed_args", {})
    return VisionTransformer(embed_layer=partial(HybridEmbed, backbone=backbone, **embed_args), **args)

# The case also saved as a PyTorch pickle (pytorch_model.bin) instead of safetensors.
PTH_CASES = {"vit_p4_d3_h4"}


def redraw_(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if name.endswith("norm.weight") or ".norm1.weight" in name or ".norm2.weight" in name \
                    or name.endswith("gamma"):
                p.copy_(1.0 + 0.2 * noise)
            elif p.ndim == 1:
                p.copy_(0.1 * noise)
            else:
                p.copy_(noise / np.sqrt(max(p[0].numel(), 1)))


def write_hub_config(folder: pathlib.Path, arch: str, args: dict, num_features: int,
                     size=32) -> None:
    """`config.json` of a hub folder built by `timm.create_model(arch, **args)` at `size`."""
    size = [size, size] if isinstance(size, int) else list(size)
    config = {
        "architecture": arch,
        "num_classes": args["num_classes"],
        "num_features": num_features,
        "model_args": {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()},
        "pretrained_cfg": {
            "tag": "fixture", "input_size": [3, *size], "interpolation": "bicubic",
            "crop_pct": 0.9, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
            "num_classes": args["num_classes"],
        },
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def main() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1234)
    cases = {name: (arch, timm.models.vision_transformer.VisionTransformer, args, size, batch)
             for name, (arch, args, size, batch) in CASES.items()}
    cases.update(VARIANT_CASES)
    cases.update({name: (arch, timm.models.vision_transformer.VisionTransformer, args, size, batch)
                  for name, (arch, args, size, batch) in LATE_CASES.items()})
    cases.update({name: (arch, "create_model", args, size, batch)
                  for name, (arch, args, size, batch) in CATALOGUE_CASES.items()})
    cases.update({name: (arch, ("hybrid", stem), args, size, batch)
                  for name, (arch, stem, args, size, batch) in HYBRID_CASES.items()})
    for case, (arch, cls, args, run_size, batch) in cases.items():
        if cls == "create_model":
            model = timm.create_model(arch, **args).eval()
        elif isinstance(cls, tuple):
            model = build_hybrid(cls[1], args).eval()
        else:
            model = cls(**args).eval()
        redraw_(model, generator)
        with torch.no_grad():  # BatchNorm statistics away from 0 / 1 too
            for name, b in model.named_buffers():
                if name.endswith("running_mean"):
                    b.copy_(0.1 * torch.randn(b.shape, generator=generator))
                elif name.endswith("running_var"):
                    b.copy_(0.5 + torch.rand(b.shape, generator=generator))
        x = torch.randn((batch, 3, *run_size), generator=generator)
        with torch.no_grad():
            features = model.forward_features(x)
            pre_logits = model.forward_head(features, pre_logits=True)
            logits = model.forward_head(features)
        folder = OUT / case
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if case in PTH_CASES:
            torch.save(state, folder / "pytorch_model.bin")
        else:
            save_file(state, folder / "model.safetensors")
        io = {"input": x, "logits": logits, "features": features, "pre_logits": pre_logits}
        if cls is VisionTransformerDistilled:
            # Training mode with distillation: the two heads' logits (all dropout rates are 0).
            model.set_distilled_training(True)
            model.train()
            with torch.no_grad():
                io["logits_cls"], io["logits_dist"] = model(x)
            model.eval()
        if case == "swin_2stage":
            save_microsoft_layout(model, folder / "microsoft_layout.pth")
        save_file({k: v.contiguous() for k, v in io.items()}, folder / "io.safetensors")
        if case in ("cat_dinov2_reg", "cat_siglip_tanh_map"):  # `vit embed` tests
            np.save(folder / "input.npy", x.numpy())
        if case == "vit_cls":  # for `vit forward` tests: the same input and logits as .npy
            np.save(folder / "input.npy", x.numpy())
            np.save(folder / "logits.npy", logits.numpy())
        model_args = {k: v for k, v in args.items() if k != "num_classes"}
        if isinstance(cls, tuple):
            model_args["backbone"] = cls[1]
        config = {
            "architecture": arch,
            "num_classes": args["num_classes"],
            "num_features": model.num_features,
            "global_pool": args.get("global_pool", "token"),
            "model_args": model_args,
            "pretrained_cfg": {
                "tag": "fixture",
                "input_size": [3, *(args["img_size"] if isinstance(args["img_size"], (list, tuple))
                                    else [args["img_size"]] * 2)],
                "interpolation": "bicubic",
                "crop_pct": 0.9,
                "mean": [0.5, 0.5, 0.5],
                "std": [0.5, 0.5, 0.5],
                "num_classes": args["num_classes"],
            },
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        if case in INTERMEDIATE_CASES:
            save_intermediates(model, arch, args, x, folder, features_only=not isinstance(cls, tuple))
        print(f"{case}: logits {tuple(logits.shape)} features {tuple(features.shape)} "
              f"|logits|max {logits.abs().max():.3f}")
    resample_cases()
    swin_size_cases()
    print(f"timm {timm.__version__}, torch {torch.__version__} -> {OUT}")


def swin_size_cases() -> None:
    """swin_2stage's weights at other sizes (swin_2stage/sizes.safetensors): `dynamic.*` built with
    strict_img_size=False and run at 36x52 (grids 18x26 and 9x13: padded to windows, masks built
    for that size); `window8.*` after set_input_size(48, window_size=8) (bias tables resized
    11x11 -> 15x15); `scaled.*` after set_input_size((60, 40)) alone (windows scale with the grid:
    9x6); `small.*` the dynamic model at 8x12, smaller than one window."""
    from safetensors.torch import load_file
    _, _, args, _, _ = VARIANT_CASES["swin_2stage"]
    state = load_file(OUT / "swin_2stage" / "model.safetensors")
    generator = torch.Generator().manual_seed(4321)
    out = {}
    dynamic = SwinTransformer(**args, strict_img_size=False).eval()
    dynamic.load_state_dict(state)
    x = torch.randn((2, 3, 36, 52), generator=generator)
    with torch.no_grad():
        out.update({"dynamic.input": x, "dynamic.logits": dynamic(x),
                    "dynamic.features": dynamic.forward_features(x)})
    for name, size, window in [("window8", (48, 48), 8), ("scaled", (60, 40), None)]:
        model = SwinTransformer(**args).eval()
        model.load_state_dict(state)
        model.set_input_size(img_size=size, window_size=window)
        x = torch.randn((2, 3, *size), generator=generator)
        with torch.no_grad():
            out.update({f"{name}.input": x, f"{name}.logits": model(x),
                        f"{name}.features": model.forward_features(x)})
        for key, value in model.state_dict().items():
            if key.endswith("relative_position_bias_table"):
                out[f"{name}.{key}"] = value
    # Smaller than one window (maps 4x6 and 2x3 under 6x6 windows): padded to one window, as timm.
    x = torch.randn((2, 3, 8, 12), generator=generator)
    with torch.no_grad():
        out.update({"small.input": x, "small.logits": dynamic(x), "small.features": dynamic.forward_features(x)})
    save_file({k: v.contiguous() for k, v in out.items()}, OUT / "swin_2stage" / "sizes.safetensors")


def save_microsoft_layout(model: torch.nn.Module, path: pathlib.Path) -> None:
    """The same Swin weights as the original Microsoft release lays them out: each stage's
    downsample belongs to the previous stage, the classifier is `head`, the computed buffers
    (`relative_position_index`, `attn_mask`) are stored, and all is wrapped in {"model": ...}."""
    import re
    state = {}
    for k, v in model.state_dict().items():
        k = re.sub(r"layers\.(\d+)\.downsample", lambda m: f"layers.{int(m.group(1)) - 1}.downsample", k)
        state[k.replace("head.fc.", "head.")] = v.contiguous()
    for k, v in model.named_buffers():
        if k.endswith("relative_position_index") or k.endswith("attn_mask"):
            state[k] = v.contiguous()
    torch.save({"model": state}, path)


# Cases that also get `intermediates.safetensors` (timm's forward_intermediates, features_only).
INTERMEDIATE_CASES = {"vit_cls", "vit_gap", "vit_p4_d3_h4", "vit_dynamic", "deit_distilled",
                      "swin_2stage", "swin_3stage", "vit_dynamic_pad", *CATALOGUE_CASES,
                      *HYBRID_CASES}


def save_intermediates(model, arch: str, args: dict, x: torch.Tensor, folder: pathlib.Path,
                       features_only: bool = True) -> None:
    """timm's `forward_intermediates` under several options, and `features_only=True` loaded from
    the saved checkpoint as a user would: intermediates.safetensors + features.json."""
    out = {}
    swin = isinstance(model, SwinTransformer)
    with torch.no_grad():
        # Every block (stage), NCHW, no norm: timm's defaults.
        for i, t in enumerate(model.forward_intermediates(x, intermediates_only=True)):
            out[f"all.{i}"] = t
        # The last one, normed, NLC (ViT) / NCHW normed (Swin: the norm applies to the last stage).
        if swin:
            for i, t in enumerate(model.forward_intermediates(x, norm=True, intermediates_only=True)):
                out[f"norm.{i}"] = t
        else:
            final, maps = model.forward_intermediates(x, indices=1, norm=True, output_fmt="NLC",
                                                      return_prefix_tokens=True)
            for i, m in enumerate(maps):
                if isinstance(m, tuple):
                    out[f"norm_nlc.{i}"], out[f"norm_nlc_prefix.{i}"] = m
                else:
                    out[f"norm_nlc.{i}"] = m
            out["norm_nlc_final"] = final
        # Only the first, negative and repeated indices, stopping early.
        final, maps = model.forward_intermediates(x, indices=[0, -len(out_blocks(model)), 0], stop_early=True)
        for i, t in enumerate(maps):
            out[f"early.{i}"] = t
        out["early_final"] = final
    if not features_only:  # a model timm's entrypoints cannot build (a narrowed hybrid)
        save_file({k: v.contiguous() for k, v in out.items()}, folder / "intermediates.safetensors")
        return
    # features_only=True, out_indices default (ViT: last 3; Swin: every stage) where the model has
    # enough blocks, else (0, -1); weights from the saved checkpoint.
    n = len(out_blocks(model))
    kwargs = dict(args)
    if not swin and n < 3:
        kwargs["out_indices"] = (0, -1)
    ckpt = folder / ("pytorch_model.bin" if (folder / "pytorch_model.bin").exists() else "model.safetensors")
    fm = timm.create_model(arch, pretrained=True, features_only=True,
                           pretrained_cfg_overlay=dict(file=str(ckpt)), **kwargs).eval()
    with torch.no_grad():
        for i, t in enumerate(fm(x)):
            out[f"features_only.{i}"] = t
    info = [dict(num_chs=c, reduction=r, module=m) for c, r, m in
            zip(fm.feature_info.channels(), fm.feature_info.reduction(), fm.feature_info.module_name())]
    save_file({k: v.contiguous() for k, v in out.items()}, folder / "intermediates.safetensors")
    (folder / "features.json").write_text(json.dumps(
        dict(out_indices=kwargs.get("out_indices"), feature_info=info), indent=2) + "\n")


def out_blocks(model):
    return model.layers if isinstance(model, SwinTransformer) else model.blocks


def resample_cases() -> None:
    """timm's position-embedding resampling (bicubic, antialiased) on its own: up, down, non-square."""
    generator = torch.Generator().manual_seed(99)
    with_cls = torch.randn((1, 1 + 4 * 4, 8), generator=generator)
    no_prefix = torch.randn((1, 7 * 7, 8), generator=generator)
    cases = {
        "pos_prefix1_4x4": with_cls,
        "pos_prefix1_4x4_to_6x6": resample_abs_pos_embed(with_cls, [6, 6], num_prefix_tokens=1),
        "pos_prefix1_4x4_to_3x5": resample_abs_pos_embed(with_cls, [3, 5], num_prefix_tokens=1),
        "pos_prefix0_7x7": no_prefix,
        "pos_prefix0_7x7_to_3x3": resample_abs_pos_embed(no_prefix, [3, 3], num_prefix_tokens=0),
        "pos_prefix0_7x7_to_10x4": resample_abs_pos_embed(no_prefix, [10, 4], num_prefix_tokens=0),
    }
    save_file({k: v.contiguous() for k, v in cases.items()}, OUT / "resample.safetensors")


if __name__ == "__main__":
    main()
