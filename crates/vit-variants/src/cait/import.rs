//! Loading timm `Cait` folders and checkpoints: timm's arguments to [`CaitConfig`]; the keys are
//! timm's already.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Tensor;
use serde_json::{Map, Value};
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::layers::resample::resample_abs_pos_embed;
use vit_core::weights::ModelFamily;
use vit_core::weights::checkpoint::{LazyCheckpoint, Weight};
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::{LoadReport, adapt_head, apply_state_dict};
use vit_core::weights::timm_folder::TimmConfig;

use crate::cait::catalogue::{CAIT_ARCHITECTURES, cait_architecture};
use crate::cait::config::{CAIT_FAMILY, CaitConfig};
use crate::cait::model::Cait;
use crate::timm_family::{
    card_config, catalogued, drop_class_args, export_args, finish_timm_args, translate_shared_arg,
};

/// timm `Cait` arguments over `base`; `path` names where they come from in errors. Arguments
/// this implementation cannot honour (another block or attention class) are errors naming them.
pub fn apply_timm_cait_args(
    base: &CaitConfig,
    args: &Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
) -> Result<CaitConfig> {
    let mut ours = Map::new();
    for (arg, value) in args {
        if translate_shared_arg(arg, value, path, &mut ours)? {
            continue;
        }
        match arg.as_str() {
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
    finish_timm_args(ours, num_classes, path, base, CaitConfig::validate)
}

/// A position embedding `[1, n, dim]` for another square grid resampled to the model's `grid`
/// (timm's ViT resampling); `None` when it already fits or is not square.
pub(crate) fn resample_patch_positions<B: VitBackend>(
    tensors: &mut BTreeMap<String, Weight>,
    key: &str,
    grid: [usize; 2],
    device: &B::Device,
    report: &mut LoadReport,
) -> std::result::Result<(), String> {
    let Some(found) = tensors.get(key) else {
        return Ok(());
    };
    let n = found.shape().get(1).copied().unwrap_or(0);
    let side = (n as f64).sqrt().round() as usize;
    if found.shape().len() != 3 || n == grid[0] * grid[1] || side * side != n {
        return Ok(());
    }
    let pos = Tensor::<B, 3>::from_data(found.data()?, device);
    let resampled = resample_abs_pos_embed(pos, [side, side], grid, 0);
    tensors.insert(key.into(), Weight::from_data(key, resampled.into_data()));
    report.adapted.push(format!(
        "{key} resampled from a {side}x{side} to a {}x{} grid",
        grid[0], grid[1]
    ));
    Ok(())
}

/// Loads a timm CaiT state dict (fine-tuning adaptations: a new head, the position embedding
/// resampled for another grid).
pub fn load_cait_checkpoint<B: VitBackend>(
    config: &CaitConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
) -> Result<(Cait<B>, LoadReport)> {
    let model = config.try_init::<B>(device)?;
    let LazyCheckpoint { path, mut tensors } = checkpoint;
    let mut report = LoadReport::default();
    resample_patch_positions::<B>(
        &mut tensors,
        "pos_embed",
        config.grid(),
        device,
        &mut report,
    )
    .map_err(|message| VitError::Checkpoint {
        path: path.clone(),
        message,
    })?;
    let new_head = adapt_head(&mut tensors, "head", config.num_classes, &mut report);
    report.loaded = tensors.len();
    let (model, fresh) = apply_state_dict(model, tensors, &path, |k| {
        new_head && k.starts_with("head.")
    })?;
    report.fresh = fresh;
    Ok((model, report))
}

impl ModelFamily for CaitConfig {
    type Model<B: VitBackend> = Cait<B>;

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        card_config(
            family,
            CAIT_FAMILY,
            "a CaiT",
            config,
            path,
            &CaitConfig::new(),
        )
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        config_from_json(text, path, &CaitConfig::new())
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = catalogued(
            &timm.architecture,
            &timm.path,
            CAIT_ARCHITECTURES,
            |a| a.name,
            |a| a.config(),
        )?;
        apply_timm_cait_args(&base, &timm.model_args, timm.num_classes, &timm.path)
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<Cait<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(Cait<B>, LoadReport)> {
        load_cait_checkpoint(self, checkpoint, device)
    }

    /// The architecture this config came from and every argument as timm names it.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        let catalogued = cait_architecture(&self.architecture).and_then(|a| a.config().ok());
        let (architecture, mut args) = export_args(
            self,
            "cait.py",
            &self.architecture,
            catalogued.as_ref().map(|c| (c.norm_layer, c.norm_eps)),
            (self.norm_layer, self.norm_eps),
        )?;
        drop_class_args(
            &mut args,
            catalogued.as_ref(),
            CAIT_FAMILY,
            &architecture,
            &["act_layer"],
        )?;
        // timm's `Cait` has no `dynamic_img_size` argument.
        if let Value::Object(map) = &mut args {
            map.remove("dynamic_img_size");
        }
        Ok((architecture, args))
    }
}
