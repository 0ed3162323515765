//! Loading timm `Beit` folders and checkpoints: timm's arguments to [`BeitConfig`], and BEiT's
//! key layout (`gamma_1`, `attn.relative_position_bias_table`, `rel_pos_bias.*`) to the ViT's
//! and back.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::TensorData;
use serde_json::{Map, Value};
use vit_core::error::{Result, VitError};
use vit_core::weights::ModelFamily;
use vit_core::weights::checkpoint::LazyCheckpoint;
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::LoadReport;
use vit_core::weights::timm_folder::TimmConfig;
use vit_core::{VisionTransformer, VitBackend};

use crate::beit::catalogue::{BEIT_ARCHITECTURES, beit_architecture};
use crate::beit::config::{BEIT_FAMILY, BeitConfig};
use crate::timm_family::{
    LAYER_SCALE_KEYS, card_config, catalogued, drop_buffers, export_args, finish_timm_args,
    load_in_vit_layout, rename_block_keys, rename_key, translate_shared_arg,
};

/// timm `Beit` arguments over `base`; `path` names where they come from in errors. Arguments
/// this implementation cannot honour are errors naming them.
pub fn apply_timm_beit_args(
    base: &BeitConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<BeitConfig> {
    let mut ours = Map::new();
    for (arg, value) in args {
        if translate_shared_arg(arg, value, path, &mut ours)? {
            continue;
        }
        match arg.as_str() {
            // Initialisation only.
            "head_init_scale" => {}
            "global_pool" if !matches!(value.as_str(), Some("avg" | "token")) => {
                return Err(VitError::ModelArg {
                    path: path.to_path_buf(),
                    arg: arg.clone(),
                    reason: format!("{value} is not supported (avg or token)"),
                });
            }
            _ => {
                ours.insert(arg.clone(), value.clone());
            }
        }
    }
    finish_timm_args(ours, num_classes, path, base, BeitConfig::vit)
}

/// BEiT's keys → the ViT's, per block and shared.
const BLOCK_TABLE: (&str, &str) = (
    "attn.relative_position_bias_table",
    "attn.rel_pos.relative_position_bias_table",
);
const SHARED_TABLE: (&str, &str) = (
    "rel_pos_bias.relative_position_bias_table",
    "shared_rel_pos.relative_position_bias_table",
);

/// Loads a timm BEiT state dict into the ViT `config` builds, with the ViT's fine-tuning
/// adaptations (new head, resampled position embedding, relative position tables resized for
/// another grid as timm's checkpoint filter does).
pub fn load_beit_checkpoint<B: VitBackend>(
    config: &BeitConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    load_in_vit_layout(&config.vit()?, checkpoint, device, |tensors, report| {
        drop_buffers(tensors, report, |k| {
            k.ends_with(".k_bias") || k.ends_with("relative_position_index")
        });
        let mut renamed = rename_block_keys(tensors, config.depth, &LAYER_SCALE_KEYS);
        renamed += rename_block_keys(tensors, config.depth, &[BLOCK_TABLE]);
        renamed += usize::from(rename_key(tensors, SHARED_TABLE.0, SHARED_TABLE.1));
        if renamed > 0 {
            report.adapted.push(format!(
                "timm BEiT layout: {renamed} LayerScale and relative position entries mapped to \
                 the ViT's"
            ));
        }
        Ok(())
    })
}

/// The ViT's keys back to BEiT's (the inverse of loading).
pub fn vit_to_beit_keys<V>(config: &BeitConfig, tensors: &mut BTreeMap<String, V>) {
    let back: Vec<(&str, &str)> = LAYER_SCALE_KEYS
        .iter()
        .chain([&BLOCK_TABLE])
        .map(|&(timm, ours)| (ours, timm))
        .collect();
    rename_block_keys(tensors, config.depth, &back);
    rename_key(tensors, SHARED_TABLE.1, SHARED_TABLE.0);
}

impl ModelFamily for BeitConfig {
    type Model<B: VitBackend> = VisionTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            BEIT_FAMILY,
            "a BEiT",
            config,
            path,
            &BeitConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &BeitConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            BEIT_ARCHITECTURES,
            |a| a.name,
            |a| a.config(),
        )?;
        apply_timm_beit_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_beit_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every argument as timm names it.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued_norm = beit_architecture(&self.architecture)
            .and_then(|a| a.config().ok())
            .map(|c| (c.norm_layer, c.norm_eps));
        export_args(
            self,
            "beit.py",
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
        vit_to_beit_keys(self, tensors);
        Ok(())
    }
}
