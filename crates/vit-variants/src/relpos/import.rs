//! Loading timm `VisionTransformerRelPos` folders and checkpoints: timm's arguments to
//! [`VitRelPosConfig`]; the key layout is the ViT's already (`attn.rel_pos.mlp.*`,
//! `shared_rel_pos.mlp.*`).

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::{Result, VitError};
use vit_core::weights::ModelFamily;
use vit_core::weights::checkpoint::LazyCheckpoint;
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::LoadReport;
use vit_core::weights::timm_folder::TimmConfig;
use vit_core::{VisionTransformer, VitBackend};

use crate::relpos::catalogue::{RELPOS_ARCHITECTURES, relpos_architecture};
use crate::relpos::config::{RELPOS_FAMILY, VitRelPosConfig};
use crate::timm_family::{
    card_config, catalogued, drop_buffers, drop_class_args, export_args, finish_timm_args,
    load_in_vit_layout, translate_shared_arg,
};

/// timm `VisionTransformerRelPos` arguments over `base`; `path` names where they come from in errors. Arguments
/// this implementation cannot honour are errors naming them.
pub fn apply_timm_relpos_args(
    base: &VitRelPosConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<VitRelPosConfig> {
    let mut ours = Map::new();
    for (arg, value) in args {
        if translate_shared_arg(arg, value, path, &mut ours)? {
            continue;
        }
        match arg.as_str() {
            // Initialisation only.
            "head_init_scale" => {}
            "weight_init" | "fix_init" => {}
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
    finish_timm_args(ours, num_classes, path, base, VitRelPosConfig::vit)
}

/// Loads a timm ViT-relpos state dict into the ViT `config` builds, with the ViT's fine-tuning
/// adaptations (new head); the relative position MLP takes any grid, so nothing is resized.
pub fn load_relpos_checkpoint<B: VitBackend>(
    config: &VitRelPosConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    load_in_vit_layout(&config.vit()?, checkpoint, device, |tensors, report| {
        drop_buffers(tensors, report, |k| {
            k.ends_with("relative_position_index") || k.ends_with("rel_coords_log")
        });
        Ok(())
    })
}

impl ModelFamily for VitRelPosConfig {
    type Model<B: VitBackend> = VisionTransformer<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            RELPOS_FAMILY,
            "a ViT-relpos",
            config,
            path,
            &VitRelPosConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &VitRelPosConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            RELPOS_ARCHITECTURES,
            |a| a.name,
            |a| a.config(),
        )?;
        apply_timm_relpos_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(VisionTransformer<B>, LoadReport)> {
        load_relpos_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every argument as timm names it.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued = relpos_architecture(&self.architecture).and_then(|a| a.config().ok());
        let (architecture, mut args) = export_args(
            self,
            "vision_transformer_relpos.py",
            &self.architecture,
            catalogued.as_ref().map(|c| (c.norm_layer, c.norm_eps)),
            (self.norm_layer, self.norm_eps),
        )?;
        drop_class_args(
            &mut args,
            catalogued.as_ref(),
            RELPOS_FAMILY,
            &architecture,
            &["act_layer", "block_fn"],
        )?;
        Ok((architecture, args))
    }
}
