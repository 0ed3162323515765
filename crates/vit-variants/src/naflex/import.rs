//! Loading timm NaFlexViT folders and checkpoints: timm's `NaFlexVitCfg` arguments to
//! [`NaflexConfig`], and NaFlexViT's key layout (`embeds.*`, a linear patch projection over
//! `(ph, pw, C)` patches, an NHWC position grid) to the ViT's.

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

use crate::naflex::catalogue::{NAFLEX_ARCHITECTURES, NaflexArchitecture, naflex_architecture};
use crate::naflex::config::{NAFLEX_FAMILY, NaflexConfig};
use crate::timm_family::{
    card_config, catalogued, export_args, finish_timm_args, load_in_vit_layout,
};

/// timm NaFlexViT arguments over `base`; `path` names where they come from in errors.
/// Arguments this implementation cannot honour are errors naming them.
pub fn apply_timm_naflex_args(
    base: &NaflexConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<NaflexConfig> {
    let unsupported = |arg: &str, reason: String| VitError::ModelArg {
        path: path.to_path_buf(),
        arg: arg.to_string(),
        reason,
    };
    // Supported only at timm's default (the variable-sequence and rotary options).
    let defaults: [(&str, Value); 8] = [
        ("embed_proj_type", json!("linear")),
        ("patchify_channels_last", json!(true)),
        ("rope_type", json!("")),
        ("attn_type", json!("standard")),
        ("pos_embed_use_grid_sample", json!(false)),
        ("enable_patch_interpolator", json!(false)),
        ("patch_drop_rate", json!(0.0)),
        ("num_kv_heads", Value::Null),
    ];
    // Initialisation only.
    const INIT_ONLY: [&str; 2] = ["weight_init", "fix_init"];
    let mut ours = Map::new();
    for (arg, value) in args {
        let arg = arg.as_str();
        if INIT_ONLY.contains(&arg) {
            continue;
        }
        if let Some((_, default)) = defaults.iter().find(|(name, _)| *name == arg) {
            let same = value == default
                || (value.is_null() && default.as_str() == Some(""))
                || (value.as_f64().is_some() && value.as_f64() == default.as_f64())
                || (arg == "rope_type" && value.as_str() == Some("none"));
            if !same {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported yet (only timm's default {default})"),
                ));
            }
            continue;
        }
        match arg {
            "img_size" | "pos_embed_grid_size" if value.is_null() => {
                if arg == "pos_embed_grid_size" {
                    ours.insert(arg.into(), Value::Null);
                }
            }
            "img_size" | "pos_embed_grid_size" => {
                let size = timm_img_size(value).ok_or_else(|| {
                    unsupported(arg, format!("expected an integer or [h, w], found {value}"))
                })?;
                ours.insert(arg.into(), size);
            }
            "patch_size" => {
                let p = timm_patch_size(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert(arg.into(), p);
            }
            "norm_layer" | "act_layer" | "mlp_layer" | "block_fn" | "attn_layer"
            | "embed_norm_layer" | "input_norm_layer"
                if value.is_null() => {}
            "norm_layer" => {
                let (kind, eps) =
                    timm_norm_layer(value).map_err(|reason| unsupported(arg, reason))?;
                ours.insert("norm_layer".into(), json!(kind));
                ours.insert("norm_eps".into(), json!(eps));
            }
            "act_layer" => {
                let act = value
                    .as_str()
                    .and_then(vit_core::layers::activation::Activation::from_timm_name)
                    .ok_or_else(|| {
                        unsupported(
                            arg,
                            format!("{value} is not supported (gelu, gelu_tanh, quick_gelu, silu)"),
                        )
                    })?;
                ours.insert(arg.into(), json!(act));
            }
            "pos_embed" => {
                let kind = match value.as_str() {
                    Some("learned") => "learned",
                    Some("factorized") => "factorized",
                    Some("" | "none") => "none",
                    _ => {
                        return Err(unsupported(
                            arg,
                            format!("{value} is not supported (learned, factorized or none)"),
                        ));
                    }
                };
                ours.insert(arg.into(), json!(kind));
            }
            "global_pool" if !matches!(value.as_str(), Some("token" | "avg" | "max" | "map")) => {
                return Err(unsupported(
                    arg,
                    format!("{value} is not supported (token, avg, max or map)"),
                ));
            }
            "architecture" | "norm_eps" => {
                return Err(unsupported(arg, "is not a model argument".into()));
            }
            _ => {
                ours.insert(arg.into(), value.clone());
            }
        }
    }
    finish_timm_args(ours, num_classes, path, base, NaflexConfig::vit)
}

/// NaFlexViT's keys to the ViT's in place: `embeds.{cls_token, reg_token, pos_embed_y,
/// pos_embed_x}` drop their prefix; the NHWC `embeds.pos_embed [1, rows, cols, dim]` becomes
/// `pos_embed [1, rows·cols, dim]`; the linear projection over `(ph, pw, C)` patches becomes the
/// patch convolution `[dim, C, ph, pw]` (the same product).
pub fn naflex_to_vit_keys(
    config: &NaflexConfig,
    tensors: &mut BTreeMap<String, Weight>,
    report: &mut LoadReport,
) -> std::result::Result<(), String> {
    let mut moved = 0;
    for name in ["cls_token", "reg_token", "pos_embed_y", "pos_embed_x"] {
        if let Some(w) = tensors.remove(&format!("embeds.{name}")) {
            tensors.insert(name.into(), w);
            moved += 1;
        }
    }
    if let Some(w) = tensors.remove("embeds.pos_embed") {
        let shape = w.shape().to_vec();
        let [1, rows, cols, dim] = shape[..] else {
            return Err(format!(
                "embeds.pos_embed: expected [1, rows, cols, dim], found {shape:?}"
            ));
        };
        let data = w.data()?;
        let flat =
            TensorData::from_bytes_vec(data.as_bytes().to_vec(), [1, rows * cols, dim], data.dtype);
        tensors.insert("pos_embed".into(), Weight::from_data("pos_embed", flat));
        moved += 1;
    }
    if let Some(b) = tensors.remove("embeds.proj.bias") {
        tensors.insert("patch_embed.proj.bias".into(), b);
    }
    if let Some(w) = tensors.remove("embeds.proj.weight") {
        let (p, c) = (config.patch_size, config.in_chans);
        let shape = w.shape().to_vec();
        let [dim, width] = shape[..] else {
            return Err(format!(
                "embeds.proj.weight: expected the linear projection [dim, {}], found {shape:?}",
                p * p * c
            ));
        };
        if width != p * p * c {
            return Err(format!(
                "embeds.proj.weight: {width} inputs, expected {p}x{p} patches of {c} channels"
            ));
        }
        let values = w
            .data()?
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| format!("embeds.proj.weight: {e:?}"))?;
        // (ph, pw, C) flattened → (C, ph, pw).
        let mut conv = vec![0f32; values.len()];
        for o in 0..dim {
            for y in 0..p {
                for x in 0..p {
                    for ch in 0..c {
                        conv[((o * c + ch) * p + y) * p + x] =
                            values[o * width + (y * p + x) * c + ch];
                    }
                }
            }
        }
        let key = "patch_embed.proj.weight";
        tensors.insert(
            key.into(),
            Weight::from_data(key, TensorData::new(conv, [dim, c, p, p])),
        );
        moved += 1;
    }
    if moved > 0 {
        report.adapted.push(format!(
            "NaFlexViT layout: {moved} embedding entries mapped to the ViT's (linear (ph, pw, C) \
             projection as a convolution, NHWC position grid flattened)"
        ));
    }
    Ok(())
}

/// Loads a timm NaFlexViT state dict into the ViT `config` builds.
pub fn load_naflex_checkpoint<B: VitBackend>(
    config: &NaflexConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    load_in_vit_layout(&config.vit()?, checkpoint, device, |tensors, report| {
        naflex_to_vit_keys(config, tensors, report)
    })
}

impl ModelFamily for NaflexConfig {
    type Model<B: VitBackend> = VisionTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            NAFLEX_FAMILY,
            "a NaFlexViT",
            config,
            path,
            &NaflexConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &NaflexConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            NAFLEX_ARCHITECTURES,
            |a| a.name,
            NaflexArchitecture::config,
        )?;
        apply_timm_naflex_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_naflex_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every `NaFlexVitCfg` field.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued_norm = naflex_architecture(&self.architecture)
            .and_then(|a| a.config().ok())
            .map(|c| (c.norm_layer, c.norm_eps));
        export_args(
            self,
            "naflexvit.py",
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
        vit_to_naflex_keys(self, tensors)
    }
}

/// The ViT's keys back to NaFlexViT's (the inverse of [`naflex_to_vit_keys`]).
pub fn vit_to_naflex_keys(
    config: &NaflexConfig,
    tensors: &mut BTreeMap<String, TensorData>,
) -> std::result::Result<(), String> {
    for name in ["cls_token", "reg_token", "pos_embed_y", "pos_embed_x"] {
        if let Some(t) = tensors.remove(name) {
            tensors.insert(format!("embeds.{name}"), t);
        }
    }
    if let Some(t) = tensors.remove("pos_embed") {
        let [rows, cols] = config
            .vit()
            .and_then(|v| v.pos_grid())
            .map_err(|e| e.to_string())?;
        let dim = t.shape.last().copied().unwrap_or(0);
        let moved =
            TensorData::from_bytes_vec(t.as_bytes().to_vec(), [1, rows, cols, dim], t.dtype);
        tensors.insert("embeds.pos_embed".into(), moved);
    }
    if let Some(b) = tensors.remove("patch_embed.proj.bias") {
        tensors.insert("embeds.proj.bias".into(), b);
    }
    if let Some(w) = tensors.remove("patch_embed.proj.weight") {
        let shape = w.shape.to_vec();
        let [dim, c, p, q] = shape[..] else {
            return Err(format!(
                "patch_embed.proj.weight: expected [dim, C, p, p], found {shape:?}"
            ));
        };
        // (C, ph, pw) → (ph, pw, C), element by element whatever the dtype's width.
        let bytes = w.as_bytes();
        let size = bytes.len() / (dim * c * p * q).max(1);
        let mut out = vec![0u8; bytes.len()];
        for o in 0..dim {
            for ch in 0..c {
                for y in 0..p {
                    for x in 0..q {
                        let from = ((o * c + ch) * p + y) * q + x;
                        let to = o * c * p * q + (y * q + x) * c + ch;
                        out[to * size..(to + 1) * size]
                            .copy_from_slice(&bytes[from * size..(from + 1) * size]);
                    }
                }
            }
        }
        tensors.insert(
            "embeds.proj.weight".into(),
            TensorData::from_bytes_vec(out, [dim, c * p * q], w.dtype),
        );
    }
    Ok(())
}
