//! Loading timm (and original Microsoft) DeiT and Swin checkpoints, with vit-core's all-or-nothing
//! state-dict application and timm's fine-tuning adaptations.

use std::collections::BTreeMap;

use burn::tensor::{TensorData, backend::Backend};
use serde_json::{Map, Value, json};
use vit_core::checkpoint::Checkpoint;
use vit_core::config_file::config_from_json;
use vit_core::error::{Result, VitError};
use vit_core::state_dict::{LoadReport, adapt_head, apply_state_dict, torch_params};
use vit_core::timm_folder::TimmConfig;
use vit_core::vit_import::{adapt_vit_state_dict, timm_img_size};

use crate::deit::{DEIT_PREFIX_TOKENS, DeitConfig, DistilledVisionTransformer};
use crate::swin::{SwinTransformer, SwinTransformerConfig};

/// Loads a timm `VisionTransformerDistilled` state dict (`dist_token`, `head_dist`) into a
/// distilled DeiT; heads of another size stay fresh, the position embedding is resampled for
/// another grid, anything else that does not fit is an error listing every key.
pub fn load_deit_checkpoint<B: Backend>(
    config: &DeitConfig,
    checkpoint: Checkpoint,
    device: &B::Device,
) -> Result<(DistilledVisionTransformer<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let Checkpoint { path, mut tensors } = checkpoint;
    let mut report = LoadReport::default();
    let n = config.vit.num_classes;
    let new_head = adapt_head(&mut tensors, "head", n, &mut report);
    let new_dist = adapt_head(&mut tensors, "head_dist", n, &mut report);
    let pos_len = torch_params(&model)
        .into_iter()
        .find(|p| p.key == "vit.pos_embed")
        .map(|p| p.shape[1]);
    let prefix = if config.vit.no_embed_class {
        0
    } else {
        DEIT_PREFIX_TOKENS
    };
    adapt_vit_state_dict::<B>(
        &config.vit,
        prefix,
        pos_len,
        &mut tensors,
        device,
        &mut report,
    )?;
    // timm keeps the ViT's parameters at the top level; ours sit under `vit.`.
    let tensors: BTreeMap<String, TensorData> = tensors
        .into_iter()
        .map(|(k, v)| {
            if k.starts_with("dist_token") || k.starts_with("head_dist.") {
                (k, v)
            } else {
                (format!("vit.{k}"), v)
            }
        })
        .collect();
    report.loaded = tensors.len();
    let fresh = |key: &str| {
        (new_head && key.starts_with("vit.head.")) || (new_dist && key.starts_with("head_dist."))
    };
    let (model, fresh) = apply_state_dict(model, tensors, &path, fresh)?;
    report.fresh = fresh;
    Ok((model, report))
}

/// Loads a Swin state dict in timm's layout or the original Microsoft one (where each stage's
/// patch merging belongs to the stage before and the classifier is `head`). Computed buffers
/// (`relative_position_index`, `attn_mask`) in the file are ignored: they are derived here.
pub fn load_swin_checkpoint<B: Backend>(
    config: &SwinTransformerConfig,
    checkpoint: Checkpoint,
    device: &B::Device,
) -> Result<(SwinTransformer<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let Checkpoint { path, tensors } = checkpoint;
    let mut report = LoadReport::default();
    let microsoft = tensors.contains_key("layers.0.downsample.reduction.weight");
    let mut tensors: BTreeMap<String, TensorData> = tensors
        .into_iter()
        .filter(|(k, _)| {
            let buffer = k.ends_with("relative_position_index") || k.ends_with("attn_mask");
            if buffer {
                report.ignored.push(k.clone());
            }
            !buffer
        })
        .map(|(k, v)| {
            if microsoft {
                (microsoft_to_timm_key(&k), v)
            } else {
                (k, v)
            }
        })
        .collect();
    if microsoft {
        report
            .adapted
            .push("Microsoft layout: downsample moved to the next stage, head -> head.fc".into());
    }
    let new_head = adapt_head(&mut tensors, "head.fc", config.num_classes, &mut report);
    report.loaded = tensors.len();
    let (model, fresh) = apply_state_dict(model, tensors, &path, |k| {
        new_head && k.starts_with("head.fc.")
    })?;
    report.fresh = fresh;
    Ok((model, report))
}

/// `layers.{i}.downsample.*` → `layers.{i+1}.downsample.*`, `head.*` → `head.fc.*`.
fn microsoft_to_timm_key(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("layers.")
        && let Some((index, tail)) = rest.split_once('.')
        && tail.starts_with("downsample.")
        && let Ok(i) = index.parse::<usize>()
    {
        return format!("layers.{}.{tail}", i + 1);
    }
    match key.strip_prefix("head.") {
        Some(tail) if !tail.starts_with("fc.") => format!("head.fc.{tail}"),
        _ => key.to_string(),
    }
}

/// `base` with a timm Swin config's `model_args` and `num_classes` over it; arguments this
/// implementation cannot honour are errors naming them.
pub fn apply_timm_swin_args(
    base: &SwinTransformerConfig,
    timm: &TimmConfig,
) -> Result<SwinTransformerConfig> {
    let path = &timm.path;
    let unsupported = |arg: &str, reason: String| VitError::ModelArg {
        path: path.to_path_buf(),
        arg: arg.to_string(),
        reason,
    };
    const SAME_NAME: [&str; 12] = [
        "patch_size",
        "in_chans",
        "num_classes",
        "embed_dim",
        "depths",
        "num_heads",
        "mlp_ratio",
        "qkv_bias",
        "drop_rate",
        "proj_drop_rate",
        "attn_drop_rate",
        "drop_path_rate",
    ];
    let mut ours = Map::new();
    for (arg, value) in &timm.model_args {
        match arg.as_str() {
            "weight_init" => {}
            "img_size" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert("img_size".into(), size);
            }
            "window_size" if value.is_u64() => {
                ours.insert("window_size".into(), value.clone());
            }
            "global_pool" if value == "avg" => {}
            "head_dim" | "norm_layer" if value.is_null() => {}
            "always_partition" | "dynamic_img_size" if value == false => {}
            "strict_img_size" if value == true => {}
            a if SAME_NAME.contains(&a) => {
                ours.insert(a.into(), value.clone());
            }
            _ => {
                return Err(unsupported(
                    arg,
                    format!(
                        "{value}: this timm argument (value) is not supported by the Swin here"
                    ),
                ));
            }
        }
    }
    if let Some(n) = timm.num_classes {
        ours.entry("num_classes").or_insert(json!(n));
    }
    config_from_json(&Value::Object(ours).to_string(), path, base)
}
