//! Loading timm `Xcit` folders and checkpoints: timm's arguments to [`XcitConfig`]; timm's
//! patch-embedding `Sequential` (`patch_embed.proj.{2i}.0` / `.1`) read as `patch_embed.{i}.conv`
//! / `.bn` and back; the official checkpoints' `pos_embeder` and fused class-attention `qkv`
//! mapped as timm's checkpoint filter does.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::TensorData;
use serde_json::{Map, Value};
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::weights::ModelFamily;
use vit_core::weights::checkpoint::{LazyCheckpoint, Weight};
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::{LoadReport, adapt_head, apply_state_dict};
use vit_core::weights::timm_folder::TimmConfig;

use crate::timm_family::{
    card_config, catalogued, drop_buffers, drop_class_args, export_args, finish_timm_args,
    translate_shared_arg,
};
use crate::xcit::catalogue::{XCIT_ARCHITECTURES, xcit_architecture};
use crate::xcit::config::{XCIT_FAMILY, XcitConfig};
use crate::xcit::model::Xcit;

/// timm `Xcit` arguments over `base`; `path` names where they come from in errors.
pub fn apply_timm_xcit_args(
    base: &XcitConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<XcitConfig> {
    let mut ours = Map::new();
    for (arg, value) in args {
        if translate_shared_arg(arg, value, path, &mut ours)? {
            continue;
        }
        match arg.as_str() {
            "act_layer" if value.is_null() => {}
            "global_pool" if !matches!(value.as_str(), Some("token" | "avg")) => {
                return Err(VitError::ModelArg {
                    path: path.to_path_buf(),
                    arg: arg.clone(),
                    reason: format!("{value} is not supported (token or avg)"),
                });
            }
            _ => {
                ours.insert(arg.clone(), value.clone());
            }
        }
    }
    finish_timm_args(ours, num_classes, path, base, XcitConfig::validate)
}

/// timm's `patch_embed.proj.{2i}.{0|1}.` ↔ our `patch_embed.{i}.{conv|bn}.`.
fn patch_embed_key(key: &str, to_ours: bool) -> Option<String> {
    if to_ours {
        let rest = key.strip_prefix("patch_embed.proj.")?;
        let (index, rest) = rest.split_once('.')?;
        let (part, tail) = rest.split_once('.')?;
        let i: usize = index.parse().ok()?;
        let part = match part {
            "0" => "conv",
            "1" => "bn",
            _ => return None,
        };
        i.is_multiple_of(2)
            .then(|| format!("patch_embed.{}.{part}.{tail}", i / 2))
    } else {
        let rest = key.strip_prefix("patch_embed.")?;
        let (index, rest) = rest.split_once('.')?;
        let (part, tail) = rest.split_once('.')?;
        let i: usize = index.parse().ok()?;
        let part = match part {
            "conv" => "0",
            "bn" => "1",
            _ => return None,
        };
        Some(format!("patch_embed.proj.{}.{part}.{tail}", 2 * i))
    }
}

/// Renames the patch embedding's keys one way or the other.
pub fn rename_patch_embed<V>(tensors: BTreeMap<String, V>, to_ours: bool) -> BTreeMap<String, V> {
    tensors
        .into_iter()
        .map(|(k, v)| (patch_embed_key(&k, to_ours).unwrap_or(k), v))
        .collect()
}

/// The official checkpoints' fused class-attention `qkv` split into timm's `q`, `k`, `v`.
fn split_class_qkv(
    tensors: &mut BTreeMap<String, Weight>,
    blocks: usize,
) -> std::result::Result<bool, String> {
    let mut split = false;
    for i in 0..blocks {
        let prefix = format!("cls_attn_blocks.{i}.attn");
        for kind in ["weight", "bias"] {
            let Some(w) = tensors.remove(&format!("{prefix}.qkv.{kind}")) else {
                continue;
            };
            let shape = w.shape().to_vec();
            let rows = shape.first().copied().unwrap_or(0);
            if !rows.is_multiple_of(3) {
                return Err(format!(
                    "{prefix}.qkv.{kind}: {rows} rows are not three parts"
                ));
            }
            let values = w
                .data()?
                .convert::<f32>()
                .into_vec::<f32>()
                .map_err(|e| format!("{prefix}.qkv.{kind}: {e:?}"))?;
            let part = values.len() / 3;
            for (j, name) in ["q", "k", "v"].iter().enumerate() {
                let mut part_shape = shape.clone();
                part_shape[0] = rows / 3;
                let key = format!("{prefix}.{name}.{kind}");
                let data = TensorData::new(values[j * part..(j + 1) * part].to_vec(), part_shape);
                tensors.insert(key.clone(), Weight::from_data(&key, data));
            }
            split = true;
        }
    }
    Ok(split)
}

/// Loads a timm (or official) XCiT state dict, with a new head when the classes differ.
pub fn load_xcit_checkpoint<B: VitBackend>(
    config: &XcitConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(Xcit<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let LazyCheckpoint { path, tensors } = checkpoint;
    let mut report = LoadReport::default();
    let official = tensors.keys().any(|k| k.starts_with("pos_embeder."));
    let tensors: BTreeMap<String, Weight> = tensors
        .into_iter()
        .map(|(k, v)| (k.replacen("pos_embeder.", "pos_embed.", 1), v))
        .collect();
    let mut tensors = rename_patch_embed(tensors, true);
    drop_buffers(&mut tensors, &mut report, |k| {
        k.ends_with(".num_batches_tracked")
            || (!config.use_pos_embed && k.starts_with("pos_embed."))
    });
    let split = split_class_qkv(&mut tensors, config.cls_attn_layers).map_err(|message| {
        VitError::Checkpoint {
            path: path.clone(),
            message,
        }
    })?;
    if official || split {
        report.adapted.push(
            "official XCiT layout: pos_embeder -> pos_embed, class-attention qkv split".into(),
        );
    }
    let new_head = adapt_head(&mut tensors, "head", config.num_classes, &mut report);
    report.loaded = tensors.len();
    let (model, fresh) = apply_state_dict(model, tensors, &path, |k| {
        new_head && k.starts_with("head.")
    })?;
    report.fresh = fresh;
    Ok((model, report))
}

impl ModelFamily for XcitConfig {
    type Model<B: VitBackend> = Xcit<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            XCIT_FAMILY,
            "an XCiT",
            config,
            path,
            &XcitConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &XcitConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            XCIT_ARCHITECTURES,
            |a| a.name,
            |a| a.config(),
        )?;
        apply_timm_xcit_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<Xcit<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(Xcit<B>, LoadReport)> {
        load_xcit_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every argument as timm names it.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued = xcit_architecture(&self.architecture).and_then(|a| a.config().ok());
        let (architecture, mut args) = export_args(
            self,
            "xcit.py",
            &self.architecture,
            catalogued.as_ref().map(|c| (c.norm_layer, c.norm_eps)),
            (self.norm_layer, self.norm_eps),
        )?;
        drop_class_args(
            &mut args,
            catalogued.as_ref(),
            XCIT_FAMILY,
            &architecture,
            &["act_layer"],
        )?;
        // timm's `Xcit` has no `dynamic_img_size` argument.
        if let Value::Object(map) = &mut args {
            map.remove("dynamic_img_size");
        }
        Ok((architecture, args))
    }

    fn has_timm_layout(&self) -> bool {
        true
    }

    fn to_timm_layout(
        &self,
        tensors: &mut BTreeMap<String, TensorData>,
    ) -> std::result::Result<(), String> {
        *tensors = rename_patch_embed(std::mem::take(tensors), false);
        Ok(())
    }
}
