#!/usr/bin/env python3
"""Writes the zoo's catalogue from timm's own registry — facts, not code:

  crates/vit-core/src/vit/architectures.rs   every pretrained architecture of timm's
      `vision_transformer.py`, `deit.py` and `vision_transformer_hybrid.py`: its entrypoint's
      model arguments (as timm's `config.json` names them), the model class, and timm's exact
      parameter count (built on the meta device: no weight is allocated).
  crates/vit-variants/src/eva/architectures.rs  the same for timm's `eva.py` (EVA, EVA-02, DINOv3,
      PE, RoPE-ViT, LingBot, Sapiens2): the arguments each entrypoint passes to `Eva`.
  crates/vit-variants/src/naflex/architectures.rs  and for `naflexvit.py`: the `NaFlexVitCfg`
      fields each entrypoint sets.
  crates/vit-variants/src/swin/architectures.rs, swin/v2_architectures.rs,
  crates/vit-variants/src/beit/architectures.rs, crates/vit-variants/src/relpos/architectures.rs
  crates/vit-variants/src/cait/architectures.rs, crates/vit-variants/src/xcit/architectures.rs
      the same for `swin_transformer.py` (V1, S3), `swin_transformer_v2.py`, `beit.py` (BEiT,
      BEiT v2), `vision_transformer_relpos.py`, `cait.py` and `xcit.py`.
  crates/vit-variants/src/pretrained_tags.rs  every pretrained tag of those architectures: hub
      id (or the URL timm downloads from when the weights are not on the hub), whether it is timm's default tag, classes, input size, license and — where timm's
      benchmark table records it — the ImageNet-1k top-1 accuracy.

    python3 -m venv ~/venv-timm && ~/venv-timm/bin/pip install torch timm
    git clone --depth 1 https://github.com/huggingface/pytorch-image-models /tmp/timm-repo
    ~/venv-timm/bin/python scripts/make_catalogue.py --results /tmp/timm-repo/results/results-imagenet.csv

The entrypoints' arguments are captured by standing in for timm's `_create_*` functions, so
what is recorded is exactly what `timm.create_model(name)` passes to the model class. Classes and
`functools.partial`s become timm's string names (`act_layer: "quick_gelu"`) or, where timm has
none (a norm with another epsilon), a small object (`{"name": "layernorm", "eps": 1e-05}`).
"""
import argparse
import csv
import functools
import json
import pathlib
import re

import timm
import torch
import timm.models.deit as deit
import timm.models.beit as beit
import timm.models.cait as cait
import timm.models.xcit as xcit
import timm.models.eva as eva
import timm.models.swin_transformer as swin
import timm.models.swin_transformer_v2 as swinv2
import timm.models.naflexvit as naflexvit
import timm.models.vision_transformer as vision_transformer
import timm.models.vision_transformer_hybrid as hybrid
import timm.models.vision_transformer_relpos as relpos
from timm.models import get_pretrained_cfg

ROOT = pathlib.Path(__file__).resolve().parent.parent
ARCHITECTURES_RS = ROOT / "crates" / "vit-core" / "src" / "vit" / "architectures.rs"
TAGS_RS = ROOT / "crates" / "vit-variants" / "src" / "pretrained_tags.rs"
MODULES = ["vision_transformer", "deit", "vision_transformer_hybrid"]
# Arguments vit-core's ViT does not take yet, by value (None: any value): no typed constructor is
# written for architectures that use them (a Rust test checks those are refused, naming them).
# Empty since timm 1.0.31's ViT family builds whole.
NOT_YET: dict = {}


def supported(args: dict) -> bool:
    for key, values in NOT_YET.items():
        if key in args and (values is None or args[key] in values):
            return False
    return True

ACTIVATIONS = {"GELU": "gelu", "GELUTanh": "gelu_tanh", "QuickGELU": "quick_gelu", "SiLU": "silu"}
NORMS = {"LayerNorm": "layernorm", "RmsNorm": "rmsnorm"}
BLOCKS = {"Block": "block", "ResPostBlock": "res_post_block",
          "RelPosBlock": "block", "ResPostRelPosBlock": "res_post_block",
          "ParallelScalingBlock": "parallel_scaling_block",
          "DiffParallelScalingBlock": "diff_parallel_scaling_block"}


class Captured(Exception):
    """Stops an entrypoint once its arguments are recorded."""


def capture_arguments(name: str) -> tuple:
    """(model class, timm-named arguments) an entrypoint passes to its `_create_*` function."""
    seen = {}

    def vit(variant, pretrained=False, **kwargs):
        seen.update(cls="VisionTransformer", kwargs=kwargs)
        raise Captured

    def deit_create(variant, pretrained=False, distilled=False, **kwargs):
        cls = "VisionTransformerDistilled" if distilled else "VisionTransformer"
        seen.update(cls=cls, kwargs=kwargs)
        raise Captured

    def hybrid_create(variant, backbone, embed_args=None, pretrained=False, **kwargs):
        kwargs = dict(kwargs, backbone=describe_backbone(backbone))
        kwargs.setdefault("patch_size", 1)  # as timm's _create_vision_transformer_hybrid
        if embed_args:
            kwargs["embed_args"] = embed_args
        seen.update(cls="VisionTransformer", kwargs=kwargs)
        raise Captured

    saved = (vision_transformer._create_vision_transformer, deit._create_deit,
             hybrid._create_vision_transformer_hybrid)
    vision_transformer._create_vision_transformer = vit
    deit._create_deit = deit_create
    hybrid._create_vision_transformer_hybrid = hybrid_create
    try:
        timm.models._registry.model_entrypoint(name)()
    except Captured:
        pass
    finally:
        (vision_transformer._create_vision_transformer, deit._create_deit,
         hybrid._create_vision_transformer_hybrid) = saved
    # What build_model_with_cfg adds from the default pretrained cfg (img_size, in_chans,
    # num_classes) before the class sees the arguments.
    kwargs = dict(seen["kwargs"])
    cfg = get_pretrained_cfg(name)
    if cfg is not None:
        timm.models._builder._update_default_model_kwargs(cfg.to_dict(), kwargs, None)
    return seen["cls"], {k: timm_value(k, v) for k, v in kwargs.items()}


def capture_create_arguments(module, create: str, name: str) -> dict:
    """timm-named arguments an entrypoint of `module` passes to its `create` function (e.g.
    `eva._create_eva`), with the defaults its pretrained cfg adds."""
    seen = {}

    def stand_in(variant, pretrained=False, **kwargs):
        seen.update(kwargs=kwargs)
        raise Captured

    saved = getattr(module, create)
    setattr(module, create, stand_in)
    try:
        timm.models._registry.model_entrypoint(name)()
    except Captured:
        pass
    finally:
        setattr(module, create, saved)
    kwargs = dict(seen["kwargs"])
    cfg = get_pretrained_cfg(name)
    if cfg is not None:
        timm.models._builder._update_default_model_kwargs(cfg.to_dict(), kwargs, None)
    return {k: timm_value(k, v) for k, v in kwargs.items()}


def capture_naflex_arguments(name: str) -> dict:
    """A `naflexvit.py` entrypoint's `NaFlexVitCfg` fields that differ from the defaults, with the
    model arguments (and the defaults its pretrained cfg adds)."""
    import dataclasses
    seen = {}

    def create(variant, pretrained=False, **kwargs):
        seen.update(kwargs=kwargs)
        raise Captured

    saved = naflexvit._create_naflexvit
    naflexvit._create_naflexvit = create
    try:
        timm.models._registry.model_entrypoint(name)()
    except Captured:
        pass
    finally:
        naflexvit._create_naflexvit = saved
    kwargs = dict(seen["kwargs"])
    cfg = kwargs.pop("cfg", naflexvit.NaFlexVitCfg())
    default = naflexvit.NaFlexVitCfg()
    args = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)
            if getattr(cfg, f.name) != getattr(default, f.name)}
    args.update(kwargs)
    pretrained = get_pretrained_cfg(name)
    if pretrained is not None:
        timm.models._builder._update_default_model_kwargs(pretrained.to_dict(), args, None)
        # Not a fixed-size model for timm; the size its weights were trained at.
        args.setdefault("img_size", list(pretrained.input_size[1:]))
    return {k: timm_value(k, v) for k, v in args.items()}


def write_family_architectures(family: dict, rows: list) -> None:
    """A family's generated table: one `TimmArchitecture::new(name, args, params)` per row."""
    fam, const = family["rust"], family["const"]
    lines = [f"//! {line}" if line else "//!" for line in family["doc"]] + [
        "//!",
        f"//! Generated by `scripts/make_catalogue.py` from timm {timm.__version__}; do not edit by hand.",
        "",
        f"use crate::{fam}::catalogue::{family['type']};",
        "use crate::timm_architecture::TimmArchitecture;",
        "",
        f"/// timm's `{family['module']}.py` architectures with pretrained weights, by name.",
        f"pub const {const}: &[{family['type']}] = &[",
    ]
    for r in rows:
        lines += [
            "    TimmArchitecture::new(",
            f"        {rust_str(r['name'])},",
            f"        r#\"{json.dumps(r['args'], sort_keys=True)}\"#,",
            f"        {r['params']},",
            "    ),",
        ]
    lines += ["];", ""]
    file = family.get("file", "architectures.rs")
    (ROOT / "crates" / "vit-variants" / "src" / fam / file).write_text("\n".join(lines))


# The families built from one timm module each: where their table goes and how their entrypoints'
# arguments are captured.
FAMILIES = [
    dict(module="swin_transformer", rust="swin", type="SwinArchitecture", const="SWIN_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(swin, "_create_swin_transformer", n),
         doc=["Every pretrained architecture of timm's `swin_transformer.py` (Swin V1, Swin-S3): the",
              "arguments its entrypoint passes to `SwinTransformer` (timm's names and values) and timm's",
              "parameter count."]),
    dict(module="swin_transformer_v2", rust="swin", file="v2_architectures.rs", type="SwinArchitecture",
         const="SWINV2_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(swinv2, "_create_swin_transformer_v2", n),
         doc=["Every pretrained architecture of timm's `swin_transformer_v2.py`: the arguments its",
              "entrypoint passes to `SwinTransformerV2` (timm's names and values) and timm's parameter",
              "count."]),
    dict(module="eva", rust="eva", type="EvaArchitecture", const="EVA_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(eva, "_create_eva", n),
         doc=["Every pretrained architecture of timm's `eva.py`: the arguments its entrypoint passes to",
              "`Eva` (timm's names and values) and timm's parameter count."]),
    dict(module="naflexvit", rust="naflex", type="NaflexArchitecture", const="NAFLEX_ARCHITECTURES",
         capture=capture_naflex_arguments,
         doc=["Every pretrained architecture of timm's `naflexvit.py`: the `NaFlexVitCfg` fields its",
              "entrypoint sets (those that differ from the defaults) with the model arguments, and timm's",
              "parameter count."]),
    dict(module="beit", rust="beit", type="BeitArchitecture", const="BEIT_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(beit, "_create_beit", n),
         doc=["Every pretrained architecture of timm's `beit.py` (BEiT, BEiT v2): the arguments its",
              "entrypoint passes to `Beit` (timm's names and values) and timm's parameter count."]),
    dict(module="cait", rust="cait", type="CaitArchitecture", const="CAIT_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(cait, "_create_cait", n),
         doc=["Every pretrained architecture of timm's `cait.py`: the arguments its entrypoint passes to",
              "`Cait` (timm's names and values) and timm's parameter count."]),
    dict(module="xcit", rust="xcit", type="XcitArchitecture", const="XCIT_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(xcit, "_create_xcit", n),
         doc=["Every pretrained architecture of timm's `xcit.py`: the arguments its entrypoint passes to",
              "`Xcit` (timm's names and values) and timm's parameter count."]),
    dict(module="vision_transformer_relpos", rust="relpos", type="RelPosArchitecture",
         const="RELPOS_ARCHITECTURES",
         capture=lambda n: capture_create_arguments(relpos, "_create_vision_transformer_relpos", n),
         doc=["Every pretrained architecture of timm's `vision_transformer_relpos.py`: the arguments",
              "its entrypoint passes to `VisionTransformerRelPos` (timm's names and values) and timm's",
              "parameter count."]),
]


def describe_backbone(backbone) -> dict:
    """A hybrid's CNN stem as facts: timm's class and the numbers that shape it."""
    kind = type(backbone).__name__
    if kind == "ResNetV2":
        return {"name": "resnetv2", "layers": [len(s.blocks) for s in backbone.stages]}
    if kind == "Sequential":  # create_resnetv2_stem: the stem alone
        return {"name": "resnetv2_stem"}
    if kind == "ConvStem":
        convs = [m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)]
        return {"name": "conv_stem", "channels": [c.out_channels for c in convs],
                "stride": [c.stride[0] for c in convs], "kernel_size": [c.kernel_size[0] for c in convs]}
    raise ValueError(f"unknown hybrid backbone {kind}")


def timm_value(key: str, value):
    """An argument as timm's `config.json` would hold it."""
    if isinstance(value, functools.partial):
        name = value.func.__name__
        if key in ("norm_layer", "embed_norm_layer") and set(value.keywords) <= {"eps"}:
            return {"name": NORMS[name], **value.keywords}
        if key == "mlp_layer" and name == "GluMlp":
            gate_last = value.keywords.get("gate_last", True)
            return "swiglu_packed" if not gate_last else {"name": "glu_mlp", "gate_last": True}
        raise ValueError(f"{key}: unknown partial {value}")
    if isinstance(value, type):
        name = value.__name__
        if key == "act_layer":
            return ACTIVATIONS[name]
        if key in ("norm_layer", "embed_norm_layer"):
            return NORMS[name]
        if key == "mlp_layer":
            return {"Mlp": "mlp", "SwiGLU": "swiglu"}[name]
        if key == "block_fn":
            return BLOCKS[name]
        raise ValueError(f"{key}: unknown class {name}")
    if isinstance(value, tuple):
        return list(value)
    return value


def param_count(name: str) -> int:
    with torch.device("meta"):
        model = timm.create_model(name)
    return sum(p.numel() for p in model.parameters())


def rust_str(text: str) -> str:
    return json.dumps(text)


def write_architectures(rows: list) -> None:
    lines = [
        "//! Every pretrained architecture of timm's `vision_transformer.py`, `deit.py` and",
        "//! `vision_transformer_hybrid.py`: the model arguments its entrypoint passes (timm's names and",
        "//! values), the model class and timm's parameter count.",
        "//!",
        f"//! Generated by `scripts/make_catalogue.py` from timm {timm.__version__}; do not edit by hand.",
        "",
        "use crate::vit::catalogue::VitArchitecture;",
        "",
        "/// timm's ViT-family architectures with pretrained weights, by timm module, then name.",
        "pub const VIT_ARCHITECTURES: &[VitArchitecture] = &[",
    ]
    for r in rows:
        lines += [
            "    VitArchitecture {",
            f"        name: {rust_str(r['name'])},",
            f"        module: {rust_str(r['module'])},",
            f"        class: {rust_str(r['cls'])},",
            f"        model_args: r#\"{json.dumps(r['args'], sort_keys=True)}\"#,",
            f"        params: {r['params']},",
            "    },",
        ]
    lines += [
        "];",
        "",
        "impl crate::vit::VisionTransformerConfig {",
    ]
    for r in rows:
        if not supported(r["args"]):
            continue
        lines += [
            f"    /// timm's `{r['name']}` ({r['params']:,} parameters with its default head).",
            f"    pub fn {r['name']}() -> Self {{",
            f"        Self::catalogued({rust_str(r['name'])})",
            "    }",
        ]
    lines += ["}", ""]
    ARCHITECTURES_RS.write_text("\n".join(lines))


def write_tags(architectures: list, top1: dict) -> int:
    rows = []
    for arch in architectures:
        default = get_pretrained_cfg(arch)
        default_tag = getattr(default, "tag", None) if default is not None else None
        for name in timm.list_pretrained(arch + ".*"):
            cfg = get_pretrained_cfg(name)
            if cfg is None:
                continue
            tag = name.split(".", 1)[1]
            hub_id = cfg.hf_hub_id or None
            url = None if hub_id else (cfg.url or None)
            if hub_id is None and url is None:
                continue
            accuracy = top1.get(name)
            option = lambda v: f"Some({rust_str(v)})" if v else "None"
            rows += [
                "    PretrainedTag {",
                f"        architecture: {rust_str(arch)},",
                f"        tag: {rust_str(tag)},",
                f"        hub_id: {option(hub_id)},",
                f"        url: {option(url)},",
                f"        default: {str(tag == default_tag).lower()},",
                f"        num_classes: {cfg.num_classes or 0},",
                f"        input_size: [{', '.join(str(v) for v in cfg.input_size)}],",
                f"        license: {rust_str(cfg.license or '')},",
                f"        top1: {f'Some({accuracy})' if accuracy is not None else 'None'},",
                "    },",
            ]
    header = [
        "//! The pretrained weights timm publishes for the zoo's architectures: tag, hub id (or the URL",
        "//! timm downloads from, for weights not on the hub), timm's default tag per architecture,",
        "//! classes, input size, license and — where timm's benchmark table",
        "//! (`results/results-imagenet.csv`) records it — the ImageNet-1k top-1 accuracy.",
        "//!",
        f"//! Generated by `scripts/make_catalogue.py` from timm {timm.__version__}; do not edit by hand.",
        "",
        "use crate::hub_names::PretrainedTag;",
        "",
        "/// Every pretrained tag of every catalogue architecture, grouped by architecture.",
        "pub const PRETRAINED_TAGS: &[PretrainedTag] = &[",
    ]
    TAGS_RS.write_text("\n".join(header + rows + ["];", ""]))
    return sum(1 for r in rows if r.strip().startswith("tag:"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True, help="timm's results/results-imagenet.csv")
    a = p.parse_args()
    top1 = {}
    with open(a.results) as f:
        for row in csv.DictReader(f):
            top1[row["model"]] = float(row["top1"])
    rows = []
    for module in MODULES:
        names = sorted({t.split(".")[0] for t in timm.list_models(module=module, pretrained=True)})
        for name in names:
            cls, args = capture_arguments(name)
            rows.append(dict(name=name, module=module, cls=cls, args=args, params=param_count(name)))
    write_architectures(rows)
    family_names = []
    for family in FAMILIES:
        names = sorted({t.split(".")[0]
                        for t in timm.list_models(module=family["module"], pretrained=True)})
        family_rows = [dict(name=n, args=family["capture"](n), params=param_count(n)) for n in names]
        write_family_architectures(family, family_rows)
        family_names += names
        print(f"{len(names)} {family['module']} architectures")
    tags = write_tags([r["name"] for r in rows] + family_names, top1)
    print(f"{len(rows)} architectures -> {ARCHITECTURES_RS}\n{tags} tags -> {TAGS_RS}")


if __name__ == "__main__":
    main()
