//! Loading timm (and original Microsoft) Swin checkpoints, with vit-core's all-or-nothing
//! state-dict application and timm's fine-tuning adaptations.

use std::collections::BTreeMap;

use burn::tensor::TensorData;
use std::path::Path;
use vit_core::VitBackend;

use serde_json::{Map, Value, json};
use vit_core::error::{Result, VitError};
use vit_core::layers::rel_pos_bias::resize_table_weight;
use vit_core::vit::import::timm_img_size;
use vit_core::weights::checkpoint::{LazyCheckpoint, Weight};
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::{LoadReport, adapt_head, apply_state_dict};
use vit_core::weights::timm_folder::TimmConfig;

use vit_core::weights::ModelFamily;

use crate::swin::catalogue::{swin_architecture, swin_architectures};
use crate::swin::model::SwinVersion;
use crate::swin::model::{SWIN_FAMILY, SwinTransformer, SwinTransformerConfig};
use crate::timm_family::finish_timm_args;

/// Loads a Swin state dict in timm's layout or the original Microsoft one (where each stage's
/// patch merging belongs to the stage before and the classifier is `head`). Computed buffers
/// (`relative_position_index`, `attn_mask`) in the file are ignored: they are derived here.
pub fn load_swin_checkpoint<B: VitBackend>(
    config: &SwinTransformerConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(SwinTransformer<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let LazyCheckpoint { path, tensors } = checkpoint;
    let mut report = LoadReport::default();
    let microsoft = tensors.contains_key("layers.0.downsample.reduction.weight");
    let tensors: BTreeMap<String, Weight> = tensors
        .into_iter()
        .filter(|(k, _)| {
            let buffer = k.ends_with("relative_position_index")
                || k.ends_with("attn_mask")
                || k.ends_with("relative_coords_table")
                || k.ends_with(".k_bias");
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
    let mut tensors = rename_cpb(tensors, true);
    if microsoft {
        report
            .adapted
            .push("Microsoft layout: downsample moved to the next stage, head -> head.fc".into());
    }
    resize_window_tables(&model, &mut tensors, &mut report).map_err(|message| {
        VitError::Checkpoint {
            path: path.clone(),
            message,
        }
    })?;
    let new_head = adapt_head(&mut tensors, "head.fc", config.num_classes, &mut report);
    report.loaded = tensors.len();
    let (model, fresh) = apply_state_dict(model, tensors, &path, |k| {
        new_head && k.starts_with("head.fc.")
    })?;
    report.fresh = fresh;
    Ok((model, report))
}

/// Every block's bias table resized to the block's window when the checkpoint's was made for
/// another (timm's checkpoint filter): a window-7 checkpoint loads into a model configured for
/// window 12, or into a smaller input whose stages shrink their windows.
fn resize_window_tables<B: VitBackend>(
    model: &SwinTransformer<B>,
    tensors: &mut BTreeMap<String, Weight>,
    report: &mut LoadReport,
) -> std::result::Result<(), String> {
    let mut resized = Vec::new();
    for (i, stage) in model.layers.iter().enumerate() {
        for (j, block) in stage.blocks.iter().enumerate() {
            let key = format!("layers.{i}.blocks.{j}.attn.relative_position_bias_table");
            let Some(weight) = tensors.get(&key) else {
                continue;
            };
            if let Some((table, side)) = resize_table_weight(&key, weight, block.window, 0)? {
                tensors.insert(key, table);
                resized.push(format!(
                    "layers.{i}.blocks.{j}: {side}x{side} -> {}x{}",
                    block.window[0], block.window[1]
                ));
            }
        }
    }
    if !resized.is_empty() {
        report.adapted.push(format!(
            "relative position bias tables resized to the blocks' windows ({})",
            resized.join(", ")
        ));
    }
    Ok(())
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

/// A timm window spec (`window_size`: one side, `[h, w]`, or one of either per stage) as our
/// `(window_size, stage_window_sizes)`; non-square windows are refused.
fn timm_windows(value: &Value) -> std::result::Result<(usize, Option<Vec<usize>>), String> {
    let side = |v: &Value| match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::Array(pair) if pair.len() == 2 && pair[0] == pair[1] => {
            pair[0].as_u64().map(|n| n as usize)
        }
        _ => None,
    };
    let not_square = || format!("{value}: only square windows are supported");
    match value {
        Value::Number(_) => Ok((side(value).ok_or_else(not_square)?, None)),
        // A pair of integers is one (h, w) window for every stage, as timm reads it.
        Value::Array(list) if list.len() == 2 && list.iter().all(Value::is_number) => {
            Ok((side(value).ok_or_else(not_square)?, None))
        }
        Value::Array(list) => {
            let sides = list
                .iter()
                .map(side)
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(not_square)?;
            let first = *sides.first().ok_or_else(|| "an empty list".to_string())?;
            Ok((first, Some(sides)))
        }
        _ => Err(format!(
            "expected an integer or one per stage, found {value}"
        )),
    }
}

/// `base` with timm Swin arguments (`SwinTransformer` or `SwinTransformerV2`, as a timm
/// `config.json` or the catalogue holds them) and `num_classes` over it; `path` names where they
/// come from in errors. Arguments this implementation cannot honour are errors naming them.
pub fn apply_timm_swin_args(
    base: &SwinTransformerConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<SwinTransformerConfig> {
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
    for (arg, value) in args {
        match arg.as_str() {
            "weight_init" => {}
            "img_size" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert("img_size".into(), size);
            }
            "window_size" => {
                let (window, stages) =
                    timm_windows(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert("window_size".into(), json!(window));
                ours.insert("stage_window_sizes".into(), json!(stages));
            }
            "pretrained_window_sizes" if base.version == SwinVersion::V2 => {
                let sizes = value
                    .as_array()
                    .and_then(|l| l.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
                    .ok_or_else(|| {
                        unsupported(
                            arg,
                            format!("expected one integer per stage, found {value}"),
                        )
                    })?;
                let sizes = sizes.iter().any(|&s| s > 0).then_some(sizes);
                ours.insert("pretrained_window_sizes".into(), json!(sizes));
            }
            "global_pool" if value == "avg" => {}
            "act_layer" if value == "gelu" => {}
            "head_dim" | "norm_layer" if value.is_null() => {}
            "always_partition" if value == false => {}
            "strict_img_size" if value.is_boolean() => {
                ours.insert("strict_img_size".into(), value.clone());
            }
            "dynamic_img_size" if value.is_boolean() => {
                if value == true {
                    ours.insert("strict_img_size".into(), json!(false));
                }
            }
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
    finish_timm_args(
        ours,
        num_classes,
        path,
        base,
        SwinTransformerConfig::validate,
    )
}

/// Swin V2's `cpb_mlp` (a `Sequential`: `0` Linear, `2` Linear) → vit-core's `RelPosMlp` keys.
const CPB_KEYS: [(&str, &str); 2] = [
    (".cpb_mlp.0.", ".cpb_mlp.mlp.fc1."),
    (".cpb_mlp.2.", ".cpb_mlp.mlp.fc2."),
];

fn rename_cpb<V>(tensors: BTreeMap<String, V>, to_ours: bool) -> BTreeMap<String, V> {
    tensors
        .into_iter()
        .map(|(k, v)| {
            for (timm, ours) in CPB_KEYS {
                let (from, to) = if to_ours { (timm, ours) } else { (ours, timm) };
                if k.contains(from) {
                    return (k.replacen(from, to, 1), v);
                }
            }
            (k, v)
        })
        .collect()
}

impl ModelFamily for SwinTransformerConfig {
    type Model<B: VitBackend> = SwinTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        if family != SWIN_FAMILY {
            return Err(VitError::ModelFolder {
                path: path.to_path_buf(),
                message: format!("holds a `{family}` model, not a Swin"),
            });
        }
        Self::from_plain(&config.to_string(), path)
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &SwinTransformerConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = swin_architecture(&timm.architecture)
            .ok_or_else(|| VitError::UnknownArchitecture {
                name: timm.architecture.clone(),
                path: timm.path.clone(),
                available: swin_architectures().map(|a| a.name.to_string()).collect(),
            })?
            .config()?;
        apply_timm_swin_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<SwinTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(SwinTransformer<B>, LoadReport)> {
        load_swin_checkpoint(self, checkpoint, device)
    }

    fn timm_model_args(&self) -> Result<(String, Value)> {
        if self.norm_eps != 1e-5 {
            return Err(VitError::Unsupported {
                operation: "export as a timm folder (field `norm_eps`)".into(),
                family: SWIN_FAMILY.into(),
                reason: "timm's Swin LayerNorm epsilon is 1e-5".into(),
            });
        }
        let args = json!({
            "img_size": self.img_size,
            "patch_size": self.patch_size,
            "in_chans": self.in_chans,
            "num_classes": self.num_classes,
            "embed_dim": self.embed_dim,
            "depths": self.depths,
            "num_heads": self.num_heads,
            "window_size": match &self.stage_window_sizes {
                Some(stages) => json!(stages),
                None => json!(self.window_size),
            },
            "mlp_ratio": self.mlp_ratio,
            "qkv_bias": self.qkv_bias,
            "strict_img_size": self.strict_img_size,
            "drop_rate": self.drop_rate,
            "proj_drop_rate": self.proj_drop_rate,
            "attn_drop_rate": self.attn_drop_rate,
            "drop_path_rate": self.drop_path_rate,
        });
        // timm builds from the architecture's class and these arguments, so any architecture of
        // the right class names it.
        Ok(match self.version {
            SwinVersion::V1 => ("swin_tiny_patch4_window7_224".into(), args),
            SwinVersion::V2 => {
                let mut args = args;
                args["pretrained_window_sizes"] = json!(
                    (0..self.depths.len())
                        .map(|i| self.pretrained_window(i))
                        .collect::<Vec<_>>()
                );
                ("swinv2_tiny_window8_256".into(), args)
            }
        })
    }

    fn has_timm_layout(&self) -> bool {
        self.version == SwinVersion::V2
    }

    fn to_timm_layout(
        &self,
        tensors: &mut BTreeMap<String, TensorData>,
    ) -> std::result::Result<(), String> {
        *tensors = rename_cpb(std::mem::take(tensors), false);
        Ok(())
    }
}
