//! Loading ViT weights: timm folders and checkpoints (`.safetensors`, `.pth`/`.bin`) and our own
//! saved folders, with timm's fine-tuning adaptations (new head, resampled position embedding).

use std::collections::BTreeMap;
use std::path::Path;
use vit_ops::VitBackend;

use burn::tensor::{Tensor, TensorData};
use serde_json::{Map, Value, json};

use crate::error::{Result, VitError};
use crate::layers::mlp::MlpKind;
use crate::layers::patch_embed::PatchEmbedKind;
use crate::layers::pos_embed::PosEmbedKind;
use crate::layers::resample::resample_abs_pos_embed;
use crate::vit::presets::VIT_PRESETS;
use crate::vit::{VisionTransformer, VisionTransformerConfig};
use crate::weights::checkpoint::Checkpoint;
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
        checkpoint: Checkpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_vit_checkpoint(self, checkpoint, device)
    }

    fn timm_model_args(&self) -> Result<(String, Value)> {
        vit_timm_model_args(self)
    }
}

/// timm's `architecture` and `model_args` for a ViT config (the inverse of
/// [`translate_timm_args`]): `VisionTransformer` under a ViT name, `VisionTransformerDistilled`
/// under a distilled DeiT name; every field timm cannot express is an error naming it.
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
    if c.patch_bias == c.pre_norm {
        return Err(unsupported(
            "patch_bias",
            "timm gives the patch projection a bias exactly when there is no pre-norm",
        ));
    }
    if c.mlp_kind != MlpKind::Gelu {
        return Err(unsupported(
            "mlp_kind",
            "only timm's default GELU MLP is exported",
        ));
    }
    if c.norm_eps != 1e-6 {
        return Err(unsupported(
            "norm_eps",
            "timm's ViT LayerNorm epsilon is 1e-6",
        ));
    }
    let pos_embed = match c.pos_embed {
        PosEmbedKind::Learn => "learn",
        PosEmbedKind::None => "none",
        PosEmbedKind::Sincos => {
            return Err(unsupported(
                "pos_embed",
                "timm's VisionTransformer has no fixed sin-cos table",
            ));
        }
    };
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
        "init_values": c.init_values,
        "class_token": c.class_token,
        "no_embed_class": c.no_embed_class,
        "global_pool": global_pool,
        "fc_norm": c.fc_norm,
        "pre_norm": c.pre_norm,
        "pos_embed": pos_embed,
        "dynamic_img_size": c.dynamic_img_size,
        "dynamic_img_pad": c.dynamic_img_pad,
        "drop_rate": c.drop_rate,
        "pos_drop_rate": c.pos_drop_rate,
        "proj_drop_rate": c.proj_drop_rate,
        "attn_drop_rate": c.attn_drop_rate,
        "drop_path_rate": c.drop_path_rate,
    });
    let architecture = if c.distilled {
        "deit_tiny_distilled_patch16_224"
    } else {
        "vit_tiny_patch16_224"
    };
    Ok((architecture.into(), args))
}

/// The config timm would build from a timm `config.json`: the architecture's preset with
/// `model_args` and `num_classes` over it. Arguments this implementation cannot honour are errors
/// naming them.
pub fn vit_config_from_timm(timm: &TimmConfig) -> Result<VisionTransformerConfig> {
    let base = VisionTransformerConfig::preset(&timm.architecture).map_err(|_| {
        VitError::UnknownArchitecture {
            name: timm.architecture.clone(),
            path: timm.path.clone(),
            available: VIT_PRESETS.iter().map(|(n, _)| n.to_string()).collect(),
        }
    })?;
    apply_timm_vit_args(&base, timm)
}

/// `base` (the architecture's config) with a timm config's `model_args` and `num_classes` over it.
pub fn apply_timm_vit_args(
    base: &VisionTransformerConfig,
    timm: &TimmConfig,
) -> Result<VisionTransformerConfig> {
    let config_path = &timm.path;
    let mut ours = translate_timm_args(&timm.model_args, config_path)?;
    if let Some(n) = timm.num_classes {
        ours.entry("num_classes").or_insert(json!(n));
    }
    config_from_json(&Value::Object(ours).to_string(), config_path, base)
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
    let defaults: [(&str, Value); 8] = [
        ("qk_norm", json!(false)),
        ("scale_attn_norm", json!(false)),
        ("scale_mlp_norm", json!(false)),
        ("proj_bias", json!(true)),
        ("reg_tokens", json!(0)),
        ("final_norm", json!(true)),
        ("pool_include_prefix", json!(false)),
        ("patch_drop_rate", json!(0.0)),
    ];
    const SAME_NAME: [&str; 19] = [
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
    ];
    let mut ours = Map::new();
    for (arg, value) in args {
        let arg = arg.as_str();
        if INIT_ONLY.contains(&arg) {
            continue;
        }
        if let Some((_, default)) = defaults.iter().find(|(name, _)| *name == arg) {
            let same = match (value.as_f64(), default.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => value == default,
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
                let p = match value {
                    Value::Array(a) if a.len() == 2 && a[0] == a[1] => a[0].clone(),
                    Value::Array(_) => {
                        return Err(unsupported(
                            arg,
                            format!("only square patches are supported, found {value}"),
                        ));
                    }
                    other => other.clone(),
                };
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
            "act_layer" | "norm_layer" if value.is_null() => {}
            "act_layer" if matches!(value.as_str(), Some("gelu")) => {}
            "norm_layer" if matches!(value.as_str(), Some("layernorm")) => {}
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
    Ok(ours)
}

/// Loads a timm ViT state dict into a model built from `config`, as timm's `checkpoint_filter_fn`
/// and `load_pretrained` do: a head of another size (or none in the file) is left freshly
/// initialised, a head the model does not have is dropped, a position embedding for another grid
/// is resampled, a conv patch projection is flattened for the linear form. Anything else that
/// does not fit is an error listing every key.
pub fn load_vit_checkpoint<B: VitBackend>(
    config: &VisionTransformerConfig,
    checkpoint: Checkpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let expected: BTreeMap<String, Vec<usize>> = torch_params(&model)
        .into_iter()
        .map(|p| (p.key, p.shape))
        .collect();
    let Checkpoint { path, mut tensors } = checkpoint;
    let mut report = LoadReport::default();

    let new_head = adapt_head(&mut tensors, "head", config.num_classes, &mut report);
    let new_dist =
        config.distilled && adapt_head(&mut tensors, "head_dist", config.num_classes, &mut report);

    let pos_len = expected.get("pos_embed").map(|shape| shape[1]);
    let prefix = config.num_embedded_prefix_tokens();
    adapt_vit_state_dict::<B>(config, prefix, pos_len, &mut tensors, device, &mut report)?;

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
    tensors: &mut BTreeMap<String, TensorData>,
    device: &B::Device,
    report: &mut LoadReport,
) -> Result<()> {
    // Position embedding for another grid (fine-tuning at another resolution).
    if let (Some(found), Some(want)) = (tensors.get("pos_embed"), pos_len)
        && found.shape.len() == 3
        && found.shape[1] != want
        && config.pos_embed == PosEmbedKind::Learn
    {
        let patches = found.shape[1].saturating_sub(prefix);
        let side = (patches as f64).sqrt().round() as usize;
        if side * side == patches && patches > 0 {
            let to = config.grid_size()?;
            let data = tensors.remove("pos_embed").expect("checked above");
            let pos = Tensor::<B, 3>::from_data(data, device);
            let resampled = resample_abs_pos_embed(pos, [side, side], to, prefix);
            tensors.insert("pos_embed".into(), resampled.into_data());
            report.adapted.push(format!(
                "pos_embed resampled from a {side}x{side} to a {}x{} grid",
                to[0], to[1]
            ));
        }
    }

    // The linear patch projection holds the conv kernel flattened (c, y, x).
    if config.patch_embed == PatchEmbedKind::Linear
        && let Some(w) = tensors.get("patch_embed.proj.weight")
        && w.shape.len() == 4
    {
        let w = tensors
            .remove("patch_embed.proj.weight")
            .expect("checked above");
        let [d, c, p, q] = [w.shape[0], w.shape[1], w.shape[2], w.shape[3]];
        let flat = TensorData::new(
            w.into_vec::<f32>().expect("f32 after reading"),
            [d, c * p * q],
        );
        tensors.insert("patch_embed.proj.weight".into(), flat);
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
