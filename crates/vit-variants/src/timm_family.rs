//! What the families built as ViT configurations (timm's `eva.py` and `naflexvit.py`) share:
//! reading a saved card, resolving a timm folder's architecture, exporting timm's arguments, and
//! the [`ModelConfig`](vit_core::model::ModelConfig) methods that go through the ViT they build.

use std::collections::BTreeMap;
use std::path::Path;

use burn::config::Config;
use serde::Serialize;
use serde_json::Value;
use vit_core::error::{Result, VitError};
use vit_core::layers::norm::NormKind;
use vit_core::vit::import::load_vit_checkpoint;
use vit_core::weights::checkpoint::{LazyCheckpoint, Weight};
use vit_core::weights::config_file::config_from_json;
use vit_core::weights::state_dict::LoadReport;
use vit_core::{VisionTransformer, VisionTransformerConfig, VitBackend};

/// Loads a checkpoint in a family's timm layout into the ViT `vit`: `to_vit` renames and reshapes
/// its entries into the ViT's (noting what it did in the report; an error names the entry),
/// then vit-core's loader applies them with its fine-tuning adaptations.
pub(crate) fn load_in_vit_layout<B: VitBackend>(
    vit: &VisionTransformerConfig,
    checkpoint: LazyCheckpoint,
    device: &B::Device,
    to_vit: impl FnOnce(
        &mut BTreeMap<String, Weight>,
        &mut LoadReport,
    ) -> std::result::Result<(), String>,
) -> Result<(VisionTransformer<B>, LoadReport)> {
    let LazyCheckpoint { path, mut tensors } = checkpoint;
    let mut report = LoadReport::default();
    to_vit(&mut tensors, &mut report).map_err(|message| VitError::Checkpoint {
        path: path.clone(),
        message,
    })?;
    let (model, mut loaded) =
        load_vit_checkpoint::<B>(vit, LazyCheckpoint { path, tensors }, device)?;
    loaded.adapted.splice(0..0, report.adapted);
    loaded.ignored.splice(0..0, report.ignored);
    Ok((model, loaded))
}

/// A saved card's config for `family` (`expected` its name, `what` the model it is for errors).
pub(crate) fn card_config<C: Config>(
    family: &str,
    expected: &str,
    what: &str,
    config: &Value,
    path: &Path,
    base: &C,
) -> Result<C> {
    if family != expected {
        return Err(VitError::ModelFolder {
            path: path.to_path_buf(),
            message: format!("holds a `{family}` model, not {what}"),
        });
    }
    config_from_json(&config.to_string(), path, base)
}

/// The catalogue's config of a timm folder's architecture, or the error naming the closest
/// architectures of the family.
pub(crate) fn catalogued<A, C>(
    name: &str,
    path: &Path,
    architectures: &'static [A],
    name_of: fn(&A) -> &'static str,
    config_of: fn(&A) -> Result<C>,
) -> Result<C> {
    match architectures.iter().find(|a| name_of(a) == name) {
        Some(a) => config_of(a),
        None => Err(VitError::UnknownArchitecture {
            name: name.to_string(),
            path: path.to_path_buf(),
            available: architectures
                .iter()
                .map(|a| name_of(a).to_string())
                .collect(),
        }),
    }
}

/// timm's `architecture` and `model_args` for a config holding timm's argument names: every
/// field but `architecture`, `norm_layer` and `norm_eps` (timm's `config.json` cannot name a norm
/// class, so the norm must be the architecture's own: `catalogued_norm`).
pub(crate) fn export_args<C: Serialize>(
    config: &C,
    family: &str,
    architecture: &str,
    catalogued_norm: Option<(NormKind, f64)>,
    norm: (NormKind, f64),
) -> Result<(String, Value)> {
    let unsupported = |reason: String| VitError::Unsupported {
        operation: "export as a timm folder".into(),
        family: family.into(),
        reason,
    };
    let Some(base) = catalogued_norm else {
        return Err(unsupported(format!(
            "`architecture` is {architecture:?}, not one of timm's {family} architectures"
        )));
    };
    if base != norm {
        return Err(unsupported(format!(
            "`{architecture}` builds {:?} with eps {}, this config {:?} with eps {}",
            base.0, base.1, norm.0, norm.1
        )));
    }
    let Value::Object(mut args) = serde_json::to_value(config).expect("configs serialise") else {
        unreachable!("a config serialises as an object")
    };
    for own in ["architecture", "norm_layer", "norm_eps"] {
        args.remove(own);
    }
    Ok((architecture.to_string(), Value::Object(args)))
}

/// The [`ModelConfig`](vit_core::model::ModelConfig) methods of a config that builds a ViT with
/// `self.vit()` (all but `default_pretrained_cfg`): invoke inside the impl with the family name.
macro_rules! vit_built_model_config {
    ($family:expr) => {
        fn family(&self) -> &'static str {
            $family
        }

        fn validate(&self) -> vit_core::error::Result<()> {
            self.vit().map(|_| ())
        }

        vit_core::timm_config_fields!();

        fn macs(&self) -> u64 {
            self.vit().map_or(0, |c| c.macs())
        }

        fn param_estimate(&self) -> u64 {
            self.vit().map_or(0, |c| c.param_estimate())
        }

        fn activation_estimate(&self) -> u64 {
            self.vit().map_or(0, |c| c.activation_estimate())
        }

        fn card_config(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("configs serialise")
        }
    };
}
pub(crate) use vit_built_model_config;
