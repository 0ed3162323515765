//! Loading timm `Eva` folders and checkpoints: timm's arguments to [`EvaConfig`], and timm's Eva
//! key layout (`gamma_1`, `q_bias`/`v_bias`, `q_proj`/`k_proj`/`v_proj`) to the ViT's.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::TensorData;
use serde_json::{Map, Value, json};
use vit_core::VisionTransformer;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::vit::import::{timm_img_size, timm_norm_layer, timm_patch_size};
use vit_core::weights::ModelFamily;
use vit_core::weights::checkpoint::{LazyCheckpoint, Weight};
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::LoadReport;
use vit_core::weights::timm_folder::TimmConfig;

use crate::eva::catalogue::{EVA_ARCHITECTURES, EvaArchitecture, eva_architecture};
use crate::eva::config::{EVA_FAMILY, EvaAttnType, EvaConfig};
use crate::timm_family::{
    LAYER_SCALE_KEYS, card_config, catalogued, drop_buffers, export_args, finish_timm_args,
    load_in_vit_layout, rename_block_keys,
};

/// timm `Eva` arguments (as a timm `config.json` or the catalogue holds them) over `base`;
/// `path` names where they come from in errors. Arguments this implementation cannot honour
/// are errors naming them.
pub fn apply_timm_eva_args(
    base: &EvaConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<EvaConfig> {
    let unsupported = |arg: &str, reason: String| VitError::ModelArg {
        path: path.to_path_buf(),
        arg: arg.to_string(),
        reason,
    };
    let mut ours = Map::new();
    for (arg, value) in args {
        let arg = arg.as_str();
        match arg {
            // Initialisation only.
            "head_init_scale" => {}
            "img_size" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert(arg.into(), size);
            }
            "ref_feat_shape" if value.is_null() => {}
            "ref_feat_shape" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert(arg.into(), size);
            }
            "patch_size" => {
                let p = timm_patch_size(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert(arg.into(), p);
            }
            "norm_layer" if value.is_null() => {}
            "norm_layer" => {
                let (kind, eps) =
                    timm_norm_layer(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert("norm_layer".into(), json!(kind));
                ours.insert("norm_eps".into(), json!(eps));
            }
            "num_kv_heads" => {
                let depth = args
                    .get("depth")
                    .and_then(Value::as_u64)
                    .unwrap_or(base.depth as u64);
                let heads = match value {
                    Value::Null => Value::Null,
                    Value::Number(n) => json!(vec![n; depth as usize]),
                    Value::Array(_) => value.clone(),
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!("expected an integer or one per block, found {value}"),
                        ));
                    }
                };
                ours.insert(arg.into(), heads);
            }
            "rope_mrope_section" if value.is_null() => {}
            "rope_mrope_section" => {
                return Err(unsupported(arg, "multimodal RoPE is not supported".into()));
            }
            "global_pool" if !matches!(value.as_str(), Some("token" | "avg" | "max" | "map")) => {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (token, avg, max or map)"),
                ));
            }
            "rope_type" if !matches!(value.as_str(), Some("cat" | "mixed" | "dinov3")) => {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (cat, mixed or dinov3)"),
                ));
            }
            "attn_type" if !matches!(value.as_str(), Some("eva" | "rope")) => {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (eva or rope)"),
                ));
            }
            "architecture" => {
                return Err(unsupported(arg, "is not a model argument".into()));
            }
            _ => {
                ours.insert(arg.into(), value.clone());
            }
        }
    }
    finish_timm_args(ours, num_classes, path, base, EvaConfig::vit)
}

/// Renames timm Eva keys to the ViT's in place: `gamma_1`/`gamma_2` → `ls1.gamma`/`ls2.gamma`;
/// `q_proj`/`k_proj`/`v_proj` → `qkv` (rows stacked), their biases → `q_bias`/`v_bias`
/// (`EvaAttention`: the key has none) or `qkv.bias` (`AttentionRope`). A fused `EvaAttention`'s
/// `q_bias`/`v_bias` keep their names.
pub fn eva_to_vit_keys(
    config: &EvaConfig,
    tensors: &mut BTreeMap<String, Weight>,
    report: &mut LoadReport,
) -> std::result::Result<(), String> {
    let mut renamed = rename_block_keys(tensors, config.depth, &LAYER_SCALE_KEYS);
    for i in 0..config.depth {
        let block = format!("blocks.{i}");
        let attn = format!("{block}.attn");
        // Separate projections: stack their rows.
        let projections: Vec<Option<Weight>> = ["q_proj", "k_proj", "v_proj"]
            .iter()
            .map(|p| tensors.remove(&format!("{attn}.{p}.weight")))
            .collect();
        if projections.iter().any(Option::is_some) {
            let weights: Vec<Weight> = projections.into_iter().flatten().collect();
            if weights.len() != 3 {
                return Err(format!(
                    "{attn}: expected q_proj, k_proj and v_proj weights, found {}",
                    weights.len()
                ));
            }
            let key = format!("{attn}.qkv.weight");
            tensors.insert(key.clone(), stack_rows(&key, &weights)?);
            let [q, k, v] =
                ["q_proj", "k_proj", "v_proj"].map(|p| tensors.remove(&format!("{attn}.{p}.bias")));
            match (config.attn_type, q, k, v) {
                // EvaAttention: q and v biases, none on the key projection.
                (EvaAttnType::Eva, q, None, v) => {
                    for (name, bias) in [("q_bias", q), ("v_bias", v)] {
                        if let Some(bias) = bias {
                            tensors.insert(format!("{attn}.{name}"), bias);
                        }
                    }
                }
                (EvaAttnType::Rope, Some(q), Some(k), Some(v)) => {
                    let key = format!("{attn}.qkv.bias");
                    tensors.insert(key.clone(), stack_rows(&key, &[q, k, v])?);
                }
                (_, None, None, None) => {}
                (kind, q, k, v) => {
                    return Err(format!(
                        "{attn}: q/k/v projection biases {:?} do not fit timm's {kind:?} \
                         attention",
                        [q.is_some(), k.is_some(), v.is_some()]
                    ));
                }
            }
            renamed += 1;
        }
    }
    if renamed > 0 {
        report.adapted.push(format!(
            "timm Eva layout ({:?} attention): {renamed} LayerScale and q/k/v entries mapped to \
             the ViT's",
            config.attn_type
        ));
    }
    Ok(())
}

/// Weights `[rows_i, …]` (same trailing shape) stacked into `[Σ rows_i, …]`.
fn stack_rows(key: &str, weights: &[Weight]) -> std::result::Result<Weight, String> {
    let trailing = weights[0].shape().get(1..).unwrap_or_default().to_vec();
    let mut values = Vec::new();
    let mut rows = 0;
    for w in weights {
        if w.shape().is_empty() || w.shape()[1..] != trailing[..] {
            return Err(format!(
                "{key}: the q/k/v projections' shapes differ: {:?}",
                weights
                    .iter()
                    .map(|w| w.shape().to_vec())
                    .collect::<Vec<_>>()
            ));
        }
        rows += w.shape()[0];
        values.extend(f32_values(key, w)?);
    }
    let mut shape = vec![rows];
    shape.extend(trailing);
    Ok(Weight::from_data(key, TensorData::new(values, shape)))
}

fn f32_values(key: &str, w: &Weight) -> std::result::Result<Vec<f32>, String> {
    w.data()?
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| format!("{key}: {e:?}"))
}

/// Loads a timm Eva state dict into the ViT `config` builds, with the ViT's fine-tuning
/// adaptations (new head, resampled position embedding).
pub fn load_eva_checkpoint<B: VitBackend>(
    config: &EvaConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    load_in_vit_layout(&config.vit()?, checkpoint, device, |tensors, report| {
        // timm's non-persistent buffers, computed here.
        drop_buffers(tensors, report, |k| {
            k.ends_with(".k_bias") || k.starts_with("rope.") && !k.ends_with("freqs")
        });
        eva_to_vit_keys(config, tensors, report)
    })
}

impl ModelFamily for EvaConfig {
    type Model<B: VitBackend> = VisionTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            EVA_FAMILY,
            "an Eva",
            config,
            path,
            &EvaConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &EvaConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            EVA_ARCHITECTURES,
            |a| a.name,
            EvaArchitecture::config,
        )?;
        apply_timm_eva_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_eva_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every argument as timm names it.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued_norm = eva_architecture(&self.architecture)
            .and_then(|a| a.config().ok())
            .map(|c| (c.norm_layer, c.norm_eps));
        export_args(
            self,
            "eva.py",
            &self.architecture,
            catalogued_norm,
            (self.norm_layer, self.norm_eps),
        )
    }

    fn has_timm_layout(&self) -> bool {
        true
    }

    fn to_timm_layout(
        &self,
        tensors: &mut BTreeMap<String, TensorData>,
    ) -> std::result::Result<(), String> {
        vit_to_eva_keys(self, tensors)
    }
}

/// The ViT's keys back to timm Eva's (the inverse of [`eva_to_vit_keys`]): `ls*.gamma` →
/// `gamma_*`; with separate projections, `qkv` split into `q_proj`/`k_proj`/`v_proj` and the
/// biases with them (`EvaAttention`: `q_bias`/`v_bias` become the q/v projections' biases).
pub fn vit_to_eva_keys(
    config: &EvaConfig,
    tensors: &mut BTreeMap<String, TensorData>,
) -> std::result::Result<(), String> {
    let back = LAYER_SCALE_KEYS.map(|(timm, ours)| (ours, timm));
    rename_block_keys(tensors, config.depth, &back);
    for i in 0..config.depth {
        let block = format!("blocks.{i}");
        if config.qkv_fused {
            continue;
        }
        let attn = format!("{block}.attn");
        let names = ["q_proj", "k_proj", "v_proj"];
        let kv = config
            .num_kv_heads
            .as_ref()
            .and_then(|kv| kv.get(i).copied())
            .unwrap_or(config.num_heads);
        let parts = [config.num_heads, kv, kv];
        if let Some(w) = tensors.remove(&format!("{attn}.qkv.weight")) {
            for (name, part) in names.iter().zip(split_rows(&w, parts)?) {
                tensors.insert(format!("{attn}.{name}.weight"), part);
            }
        }
        if let Some(b) = tensors.remove(&format!("{attn}.qkv.bias")) {
            for (name, part) in names.iter().zip(split_rows(&b, parts)?) {
                tensors.insert(format!("{attn}.{name}.bias"), part);
            }
        }
        for (from, to) in [("q_bias", "q_proj"), ("v_bias", "v_proj")] {
            if let Some(t) = tensors.remove(&format!("{attn}.{from}")) {
                tensors.insert(format!("{attn}.{to}.bias"), t);
            }
        }
    }
    Ok(())
}

/// `t [rows, …]` split into blocks of rows in the proportions `heads` (query, key and value
/// heads), each keeping `t`'s dtype.
fn split_rows(t: &TensorData, heads: [usize; 3]) -> std::result::Result<Vec<TensorData>, String> {
    let rows = t.shape.first().copied().unwrap_or(0);
    let total: usize = heads.iter().sum();
    if total == 0 || rows % total != 0 {
        return Err(format!(
            "cannot split {:?} into q/k/v projections of {heads:?} heads",
            t.shape
        ));
    }
    let bytes = t.as_bytes();
    let per_head = bytes.len() / total;
    let mut start = 0;
    Ok(heads
        .iter()
        .map(|&h| {
            let mut shape = t.shape.to_vec();
            shape[0] = rows / total * h;
            let end = start + per_head * h;
            let part = TensorData::from_bytes_vec(bytes[start..end].to_vec(), shape, t.dtype);
            start = end;
            part
        })
        .collect())
}
