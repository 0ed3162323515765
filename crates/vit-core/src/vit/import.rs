//! Loading ViT weights: timm folders and checkpoints (`.safetensors`, `.pth`/`.bin`) and our own
//! saved folders, with timm's fine-tuning adaptations (new head, resampled position embedding).

use std::collections::BTreeMap;
use std::path::Path;
use vit_ops::VitBackend;

use burn::tensor::{Tensor, TensorData};
use serde_json::{Map, Value, json};

use crate::error::{Result, VitError};
use crate::layers::activation::Activation;
use crate::layers::block::{AttnLayer, BlockKind};
use crate::layers::mlp::MlpKind;
use crate::layers::norm::NormKind;
use crate::layers::patch_embed::PatchEmbedKind;
use crate::layers::pos_embed::PosEmbedKind;
use crate::layers::rel_pos::RelPosKind;
use crate::layers::rel_pos_bias::resize_table_weight;
use crate::layers::resample::resample_abs_pos_embed;
use crate::layers::stems::HybridBackboneConfig;
use crate::vit::catalogue::{VIT_ARCHITECTURES, vit_architecture};
use crate::vit::{VisionTransformer, VisionTransformerConfig};
use crate::weights::checkpoint::{LazyCheckpoint, Weight};
use crate::weights::config_file::config_from_json;
use crate::weights::pretrained::{ModelFamily, Pretrained};
use crate::weights::state_dict::{LoadReport, adapt_head, apply_state_dict, torch_params};
use crate::weights::timm_folder::TimmConfig;

/// The model family name ViTs carry in a saved [`crate::weights::model_folder::ModelCard`].
pub const VIT_FAMILY: &str = "vit";
/// The family name of a distilled ViT (DeiT): a ViT config with `distilled: true`.
pub const DEIT_FAMILY: &str = "deit";

/// A ViT with everything that came with its weights; load one with `PretrainedVit::load`.
pub type PretrainedVit<B> = Pretrained<VisionTransformerConfig, B>;

impl ModelFamily for VisionTransformerConfig {
    type Model<B: VitBackend> = VisionTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        match family {
            VIT_FAMILY => Self::from_plain(&config.to_string(), path),
            DEIT_FAMILY => {
                // Files written before the distillation token became a ViT option hold the ViT
                // under `vit`.
                let vit = config.get("vit").unwrap_or(config);
                let base = VisionTransformerConfig::new().with_distilled(true);
                config_from_json(&vit.to_string(), path, &base)
            }
            _ => Err(VitError::ModelFolder {
                path: path.to_path_buf(),
                message: format!("holds a `{family}` model, not a ViT"),
            }),
        }
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &VisionTransformerConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        vit_config_from_timm(timm)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_vit_checkpoint(self, checkpoint, device)
    }

    fn timm_model_args(&self) -> Result<(String, Value)> {
        vit_timm_model_args(self)
    }
}

/// timm's `architecture` and `model_args` for a ViT config (the inverse of
/// [`translate_timm_args`]). What timm's `model_args` cannot say by name — the norm epsilon, the
/// MLP and block forms — comes from the architecture: the first catalogue architecture of the
/// same class that builds them so; everything else is written out. A config no architecture
/// matches is an error naming the field.
pub fn vit_timm_model_args(c: &VisionTransformerConfig) -> Result<(String, Value)> {
    let unsupported = |field: &str, reason: &str| VitError::Unsupported {
        operation: format!("export as a timm folder (field `{field}`)"),
        family: "vit".into(),
        reason: reason.into(),
    };
    if c.patch_embed != PatchEmbedKind::Conv {
        return Err(unsupported(
            "patch_embed",
            "timm's patch embedding is a convolution",
        ));
    }
    // What only timm's `Eva` has: such configs export through the `eva` family.
    for (field, set) in [
        ("rope", c.rope.is_some()),
        ("zero_k_bias", c.zero_k_bias),
        ("num_kv_heads", c.num_kv_heads.is_some()),
        ("pos_embed_grid_size", c.pos_embed_grid_size.is_some()),
        (
            "pos_embed_resample",
            c.pos_embed_resample != crate::layers::resample::PosEmbedResample::default(),
        ),
        ("attn_only_layer_scale", c.attn_only_layer_scale),
        ("mlp_align_to", c.mlp_align_to != 0),
        ("attn_pool_num_heads", c.attn_pool_num_heads.is_some()),
        ("attn_pool_mlp_ratio", c.attn_pool_mlp_ratio.is_some()),
    ] {
        if set {
            return Err(unsupported(
                field,
                "timm's VisionTransformer has no such option (timm's Eva has: load the model \
                 from an Eva architecture to export it as one)",
            ));
        }
    }
    if c.patch_bias == c.pre_norm {
        return Err(unsupported(
            "patch_bias",
            "timm gives the patch projection a bias exactly when there is no pre-norm",
        ));
    }
    let pos_embed = match c.pos_embed {
        PosEmbedKind::Learn => "learn",
        PosEmbedKind::None => "none",
        PosEmbedKind::Sincos | PosEmbedKind::Factorized => {
            return Err(unsupported(
                "pos_embed",
                "timm's VisionTransformer has no fixed sin-cos or factorised table",
            ));
        }
    };
    // The fields only an architecture's entrypoint sets.
    let implied = |a: &VisionTransformerConfig| {
        (
            (
                a.norm_eps,
                a.norm_layer,
                a.embed_norm_layer,
                a.mlp_kind,
                a.block_fn,
                a.attn_layer,
            ),
            (a.distilled, a.backbone.clone(), a.embed_proj),
        )
    };
    // The plain ViT and DeiT first, so that a plain config keeps the name it always had.
    let preferred = ["vit_tiny_patch16_224", "deit_tiny_distilled_patch16_224"];
    let candidates = preferred
        .iter()
        .filter_map(|name| vit_architecture(name))
        .chain(VIT_ARCHITECTURES.iter());
    let architecture = candidates
        .into_iter()
        .find(|a| {
            a.config()
                .is_ok_and(|config| implied(&config) == implied(c))
        })
        .ok_or_else(|| {
            unsupported(
                "norm_eps",
                &format!(
                    "no timm architecture builds norm_eps {}, norm_layer {:?}, embed_norm_layer \
                     {:?}, mlp_kind {:?}, block_fn {:?}, backbone {:?} together",
                    c.norm_eps,
                    c.norm_layer,
                    c.embed_norm_layer,
                    c.mlp_kind,
                    c.block_fn,
                    c.backbone
                ),
            )
        })?;
    let global_pool = serde_json::to_value(c.global_pool).expect("a pool serialises");
    let args = json!({
        "img_size": c.img_size,
        "patch_size": c.patch_size,
        "in_chans": c.in_chans,
        "num_classes": c.num_classes,
        "embed_dim": c.embed_dim,
        "depth": c.depth,
        "num_heads": c.num_heads,
        "mlp_ratio": c.mlp_ratio,
        "qkv_bias": c.qkv_bias,
        "proj_bias": c.proj_bias,
        "init_values": c.init_values,
        "class_token": c.class_token,
        "reg_tokens": c.reg_tokens,
        "no_embed_class": c.no_embed_class,
        "global_pool": global_pool,
        "fc_norm": c.fc_norm,
        "final_norm": c.final_norm,
        "pre_norm": c.pre_norm,
        "pos_embed": pos_embed,
        "act_layer": c.act_layer.timm_name(),
        "scale_attn_norm": c.scale_attn_norm,
        "scale_mlp_norm": c.scale_mlp_norm,
        "qk_norm": c.qk_norm,
        "pool_include_prefix": c.pool_include_prefix,
        "dynamic_img_size": c.dynamic_img_size,
        "dynamic_img_pad": c.dynamic_img_pad,
        "drop_rate": c.drop_rate,
        "pos_drop_rate": c.pos_drop_rate,
        "proj_drop_rate": c.proj_drop_rate,
        "attn_drop_rate": c.attn_drop_rate,
        "drop_path_rate": c.drop_path_rate,
    });
    Ok((architecture.name.into(), args))
}

/// The config timm would build from a timm `config.json`: the architecture's catalogue config
/// with `model_args` and `num_classes` over it. Arguments this implementation cannot honour are
/// errors naming them (and the architecture); an unknown architecture names the closest ones.
pub fn vit_config_from_timm(timm: &TimmConfig) -> Result<VisionTransformerConfig> {
    let architecture =
        vit_architecture(&timm.architecture).ok_or_else(|| VitError::UnknownArchitecture {
            name: timm.architecture.clone(),
            path: timm.path.clone(),
            available: VIT_ARCHITECTURES
                .iter()
                .map(|a| a.name.to_string())
                .collect(),
        })?;
    apply_timm_vit_args(&architecture.config()?, timm)
}

/// `base` (the architecture's config) with a timm config's `model_args` and `num_classes` over it.
pub fn apply_timm_vit_args(
    base: &VisionTransformerConfig,
    timm: &TimmConfig,
) -> Result<VisionTransformerConfig> {
    apply_timm_vit_args_map(base, &timm.model_args, timm.num_classes, &timm.path)
}

/// `base` with timm `VisionTransformer` arguments (and `num_classes`, unless the arguments hold
/// it) over it; `path` names where the arguments come from in errors.
pub fn apply_timm_vit_args_map(
    base: &VisionTransformerConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<VisionTransformerConfig> {
    let mut ours = translate_timm_args(args, path)?;
    if let Some(n) = num_classes {
        ours.entry("num_classes").or_insert(json!(n));
    }
    config_from_json(&Value::Object(ours).to_string(), path, base)
}

/// A timm layer argument — a name (`"rmsnorm"`) or, for a `functools.partial`, an object
/// `{"name": …, "eps": …}` as the catalogue writes it — as (name, epsilon if given).
pub fn layer_name(value: &Value) -> Option<(&str, Option<f64>)> {
    match value {
        Value::String(name) => Some((name, None)),
        Value::Object(o) => {
            let name = o.get("name")?.as_str()?;
            let known = o.keys().all(|k| k == "name" || k == "eps");
            known.then(|| (name, o.get("eps").and_then(Value::as_f64)))
        }
        _ => None,
    }
}

/// timm `VisionTransformer` arguments → our config fields (mostly the same names).
fn translate_timm_args(args: &Map<String, Value>, path: &Path) -> Result<Map<String, Value>> {
    let unsupported = |arg: &str, reason: String| VitError::ModelArg {
        path: path.to_path_buf(),
        arg: arg.to_string(),
        reason,
    };
    // Arguments that only change the initialisation, not the model.
    const INIT_ONLY: [&str; 2] = ["weight_init", "fix_init"];
    // Arguments we support only at timm's default value.
    let defaults: [(&str, Value); 1] = [("patch_drop_rate", json!(0.0))];
    const SAME_NAME: [&str; 26] = [
        "qk_norm",
        "in_chans",
        "num_classes",
        "embed_dim",
        "depth",
        "num_heads",
        "mlp_ratio",
        "qkv_bias",
        "init_values",
        "class_token",
        "no_embed_class",
        "fc_norm",
        "dynamic_img_size",
        "dynamic_img_pad",
        "drop_rate",
        "pos_drop_rate",
        "proj_drop_rate",
        "attn_drop_rate",
        "drop_path_rate",
        "global_pool",
        "reg_tokens",
        "final_norm",
        "proj_bias",
        "scale_attn_norm",
        "scale_mlp_norm",
        "pool_include_prefix",
    ];
    let mut ours = Map::new();
    let mut eps: Option<(&str, f64)> = None;
    let mut set_eps = |arg: &str, value: f64| -> Result<()> {
        match eps {
            Some((other, e)) if e != value => Err(unsupported(
                arg,
                format!("epsilon {value} differs from `{other}`'s {e}: one epsilon for every norm"),
            )),
            _ => {
                eps = Some((
                    match arg {
                        "norm_layer" => "norm_layer",
                        _ => "embed_norm_layer",
                    },
                    value,
                ));
                Ok(())
            }
        }
    };
    for (arg, value) in args {
        let arg = arg.as_str();
        if INIT_ONLY.contains(&arg) {
            continue;
        }
        if let Some((_, default)) = defaults.iter().find(|(name, _)| *name == arg) {
            let same = match (value.as_f64(), default.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => value == default || value.is_null(),
            };
            if !same {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (only timm's default {default})"),
                ));
            }
            continue;
        }
        match arg {
            "img_size" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert("img_size".into(), size);
            }
            "patch_size" => {
                let p = timm_patch_size(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert("patch_size".into(), p);
            }
            "pre_norm" => {
                // timm drops the patch-embedding bias when it adds a pre-norm (CLIP).
                let pre = value.as_bool().ok_or_else(|| {
                    unsupported(arg, format!("expected a boolean, found {value}"))
                })?;
                ours.insert("pre_norm".into(), json!(pre));
                ours.insert("patch_bias".into(), json!(!pre));
            }
            "pos_embed" => {
                let kind = match value.as_str() {
                    Some("learn") => "learn",
                    Some("" | "none") => "none",
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!("expected \"learn\", \"none\" or \"\", found {value}"),
                        ));
                    }
                };
                ours.insert("pos_embed".into(), json!(kind));
            }
            "global_pool" if !matches!(value.as_str(), Some("token" | "avg" | "max" | "map")) => {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (token, avg, max or map)"),
                ));
            }
            "act_layer" | "norm_layer" | "embed_norm_layer" | "mlp_layer" | "block_fn"
                if value.is_null() => {}
            "act_layer" => {
                let act = value
                    .as_str()
                    .and_then(Activation::from_timm_name)
                    .ok_or_else(|| {
                        unsupported(
                            arg,
                            format!("{value} is not supported (gelu, gelu_tanh, quick_gelu, silu)"),
                        )
                    })?;
                ours.insert("act_layer".into(), json!(act));
            }
            "norm_layer" | "embed_norm_layer" => {
                let (name, layer_eps) = layer_name(value).ok_or_else(|| {
                    unsupported(arg, format!("expected a norm name, found {value}"))
                })?;
                let kind = NormKind::from_timm_name(name).ok_or_else(|| {
                    unsupported(
                        arg,
                        format!("{value} is not supported (layernorm, rmsnorm)"),
                    )
                })?;
                // A bare name is timm's class at its default epsilon (1e-6 for both).
                set_eps(arg, layer_eps.unwrap_or(1e-6))?;
                ours.insert(arg.into(), json!(kind));
            }
            "mlp_layer" => {
                let kind = match value.as_str() {
                    Some("mlp" | "Mlp") => MlpKind::Mlp,
                    Some("swiglu" | "SwiGLU") => MlpKind::Swiglu,
                    Some("swiglu_packed" | "SwiGLUPacked") => MlpKind::SwigluPacked,
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!(
                                "{value} is not supported (mlp, swiglu, swiglu_packed = GluMlp \
                                 with the gate first)"
                            ),
                        ));
                    }
                };
                ours.insert("mlp_kind".into(), json!(kind));
            }
            "block_fn" => {
                let kind = match value.as_str() {
                    Some("block" | "Block") => BlockKind::Block,
                    Some("res_post_block" | "ResPostBlock") => BlockKind::ResPostBlock,
                    Some("parallel_scaling_block" | "ParallelScalingBlock") => {
                        BlockKind::ParallelScalingBlock
                    }
                    Some("diff_parallel_scaling_block" | "DiffParallelScalingBlock") => {
                        BlockKind::DiffParallelScalingBlock
                    }
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!(
                                "{value} is not supported (block, res_post_block, \
                                 parallel_scaling_block, diff_parallel_scaling_block)"
                            ),
                        ));
                    }
                };
                ours.insert("block_fn".into(), json!(kind));
            }
            "attn_layer" if value.is_null() => {}
            "attn_layer" => {
                let kind = match value.as_str() {
                    Some("attention" | "Attention") => AttnLayer::Attention,
                    Some("diff" | "DiffAttention") => AttnLayer::Diff,
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!("{value} is not supported (attention, diff)"),
                        ));
                    }
                };
                ours.insert("attn_layer".into(), json!(kind));
            }
            "backbone" => {
                let stem: HybridBackboneConfig =
                    serde_json::from_value(value.clone()).map_err(|e| {
                        unsupported(
                            arg,
                            format!(
                                "{value}: {e} (resnetv2 with layers, resnetv2_stem, or conv_stem \
                                 with channels, stride and kernel_size)"
                            ),
                        )
                    })?;
                ours.insert("backbone".into(), json!(stem));
            }
            "embed_args" => {
                let proj = value
                    .as_object()
                    .and_then(|o| match (o.len(), o.get("proj")) {
                        (0, _) => Some(true),
                        (1, Some(Value::Bool(proj))) => Some(*proj),
                        _ => None,
                    });
                let proj = proj.ok_or_else(|| {
                    unsupported(
                        arg,
                        format!("{value}: only {{\"proj\": true|false}} is supported"),
                    )
                })?;
                ours.insert("embed_proj".into(), json!(proj));
            }
            _ if SAME_NAME.contains(&arg) => {
                ours.insert(arg.into(), value.clone());
            }
            _ => {
                return Err(unsupported(
                    arg,
                    format!("{value}: this timm argument is not supported by vit-core's ViT"),
                ));
            }
        }
    }
    if let Some((_, e)) = eps {
        ours.insert("norm_eps".into(), json!(e));
    }
    Ok(ours)
}

/// Loads a timm ViT state dict into a model built from `config`, as timm's `checkpoint_filter_fn`
/// and `load_pretrained` do: a head of another size (or none in the file) is left freshly
/// initialised, a head the model does not have is dropped, a position embedding for another grid
/// is resampled, a conv patch projection is flattened for the linear form. Anything else that
/// does not fit is an error listing every key.
pub fn load_vit_checkpoint<B: VitBackend>(
    config: &VisionTransformerConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let expected: BTreeMap<String, Vec<usize>> = torch_params(&model)
        .into_iter()
        .map(|p| (p.key, p.shape))
        .collect();
    let LazyCheckpoint { path, mut tensors } = checkpoint;
    let mut report = LoadReport::default();

    let new_head = adapt_head(&mut tensors, "head", config.num_classes, &mut report);
    let new_dist =
        config.distilled && adapt_head(&mut tensors, "head_dist", config.num_classes, &mut report);

    let pos_len = expected.get("pos_embed").map(|shape| shape[1]);
    let prefix = config.num_embedded_prefix_tokens();
    adapt_vit_state_dict::<B>(config, prefix, pos_len, &mut tensors, device, &mut report).map_err(
        |message| VitError::Checkpoint {
            path: path.clone(),
            message,
        },
    )?;

    report.loaded = tensors.len();
    let head_is_new = |key: &str| {
        (new_head && key.starts_with("head.")) || (new_dist && key.starts_with("head_dist."))
    };
    let (model, fresh) = apply_state_dict(model, tensors, &path, head_is_new)?;
    report.fresh = fresh;
    Ok((model, report))
}

/// The ViT-specific adaptations of a timm state dict (timm key names), shared by ViT and DeiT: a
/// position embedding for another grid (`pos_len` tokens wanted, the first `prefix` of them not
/// on the grid) is resampled as timm does; a conv patch kernel is flattened for the linear form.
pub fn adapt_vit_state_dict<B: VitBackend>(
    config: &VisionTransformerConfig,
    prefix: usize,
    pos_len: Option<usize>,
    tensors: &mut BTreeMap<String, Weight>,
    device: &B::Device,
    report: &mut LoadReport,
) -> std::result::Result<(), String> {
    // Position embedding for another grid (fine-tuning at another resolution).
    if let (Some(found), Some(want)) = (tensors.get("pos_embed"), pos_len)
        && found.shape().len() == 3
        && found.shape()[1] != want
        && config.pos_embed == PosEmbedKind::Learn
    {
        let patches = found.shape()[1].saturating_sub(prefix);
        let side = (patches as f64).sqrt().round() as usize;
        if side * side == patches && patches > 0 {
            let to = config.pos_grid().map_err(|e| e.to_string())?;
            let data = found.data()?;
            let pos = Tensor::<B, 3>::from_data(data, device);
            let resampled = resample_abs_pos_embed(pos, [side, side], to, prefix);
            tensors.insert(
                "pos_embed".into(),
                Weight::from_data("pos_embed", resampled.into_data()),
            );
            report.adapted.push(format!(
                "pos_embed resampled from a {side}x{side} to a {}x{} grid",
                to[0], to[1]
            ));
        }
    }

    // Relative position tables (BEiT's) for another grid, resized as timm's checkpoint filter.
    if config
        .rel_pos
        .as_ref()
        .is_some_and(|r| r.kind == RelPosKind::Table)
    {
        let grid = config.grid_size().map_err(|e| e.to_string())?;
        let keys: Vec<String> = tensors
            .keys()
            .filter(|k| k.ends_with("relative_position_bias_table"))
            .cloned()
            .collect();
        let mut from = None;
        for key in keys {
            if let Some((resized, side)) = resize_table_weight(&key, &tensors[&key], grid, 3)? {
                tensors.insert(key, resized);
                from = Some(side);
            }
        }
        if let Some(side) = from {
            report.adapted.push(format!(
                "relative position tables resized from a {side}x{side} to a {}x{} grid",
                grid[0], grid[1]
            ));
        }
    }

    // BatchNorm's step counter (a hybrid's ConvStem) plays no part at inference.
    let counters: Vec<String> = tensors
        .keys()
        .filter(|k| k.ends_with(".num_batches_tracked"))
        .cloned()
        .collect();
    for key in counters {
        tensors.remove(&key);
        report.ignored.push(key);
    }

    // The linear patch projection holds the conv kernel flattened (c, y, x).
    const PROJ: &str = "patch_embed.proj.weight";
    if config.patch_embed == PatchEmbedKind::Linear
        && let Some(w) = tensors.get(PROJ)
        && w.shape().len() == 4
    {
        let [d, c, p, q] = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
        let values = w.data()?.into_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        let flat = TensorData::new(values, [d, c * p * q]);
        tensors.insert(PROJ.into(), Weight::from_data(PROJ, flat));
    }

    Ok(())
}

/// timm's `img_size` argument (an integer or `[h, w]`) as our `[h, w]`; `None` for anything else.
pub fn timm_img_size(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) => n.as_u64().map(|n| json!([n, n])),
        Value::Array(a) if a.len() == 2 => Some(value.clone()),
        _ => None,
    }
}

/// timm's `patch_size` argument (an integer or a square `[p, p]`) as our side length; the error
/// says what was found.
pub fn timm_patch_size(value: &Value) -> std::result::Result<Value, String> {
    match value {
        Value::Array(a) if a.len() == 2 && a[0] == a[1] => Ok(a[0].clone()),
        Value::Array(_) => Err(format!("only square patches are supported, found {value}")),
        other => Ok(other.clone()),
    }
}

/// timm's `norm_layer` argument (a name, or `{"name", "eps"}` for a `functools.partial`) as our
/// norm and its epsilon (timm's LayerNorm and RmsNorm default to 1e-6); the error says what is
/// supported.
pub fn timm_norm_layer(value: &Value) -> std::result::Result<(NormKind, f64), String> {
    layer_name(value)
        .and_then(|(name, eps)| Some((NormKind::from_timm_name(name)?, eps.unwrap_or(1e-6))))
        .ok_or_else(|| format!("{value} is not supported (layernorm, rmsnorm)"))
}
