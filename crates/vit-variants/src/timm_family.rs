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

/// The translation every timm family shares for the arguments whose timm form differs from
/// ours: `img_size` and `patch_size` (an integer or a pair), `norm_layer` (timm's class name,
/// split into our kind and epsilon); `architecture` is refused (it is not a model argument).
/// `Ok(true)` when `arg` was one of them (and `ours` has its translation).
pub(crate) fn translate_shared_arg(
    arg: &str,
    value: &Value,
    path: &Path,
    ours: &mut serde_json::Map<String, Value>,
) -> Result<bool> {
    use vit_core::vit::import::{timm_img_size, timm_norm_layer, timm_patch_size};
    let unsupported = |reason: String| VitError::ModelArg {
        path: path.to_path_buf(),
        arg: arg.to_string(),
        reason,
    };
    match arg {
        "img_size" => {
            let size = timm_img_size(value).ok_or_else(|| {
                unsupported(format!("expected an integer or [h, w], found {value}"))
            })?;
            ours.insert(arg.into(), size);
        }
        "patch_size" => {
            ours.insert(arg.into(), timm_patch_size(value).map_err(unsupported)?);
        }
        "norm_layer" if value.is_null() => {}
        "norm_layer" => {
            let (kind, eps) = timm_norm_layer(value).map_err(unsupported)?;
            ours.insert("norm_layer".into(), serde_json::json!(kind));
            ours.insert("norm_eps".into(), serde_json::json!(eps));
        }
        "architecture" => return Err(unsupported("is not a model argument".into())),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `ours` (timm arguments already translated, `num_classes` from the folder's config added when
/// the arguments lack it) read over `base`, then checked with `check` (the family's validation,
/// or building the ViT it makes): an invalid field becomes an error naming the timm argument and
/// `path`.
pub(crate) fn finish_timm_args<C: Config, R>(
    mut ours: serde_json::Map<String, Value>,
    num_classes: Option<usize>,
    path: &Path,
    base: &C,
    check: impl FnOnce(&C) -> Result<R>,
) -> Result<C> {
    if let Some(n) = num_classes {
        ours.entry("num_classes").or_insert(serde_json::json!(n));
    }
    let config: C = config_from_json(&Value::Object(ours).to_string(), path, base)?;
    check(&config).map_err(|e| match e {
        VitError::InvalidConfig { field, reason } => VitError::ModelArg {
            path: path.to_path_buf(),
            arg: field,
            reason,
        },
        other => other,
    })?;
    Ok(config)
}

/// timm's per-block LayerScale names (`Eva`, `Beit`) → the ViT's.
pub(crate) const LAYER_SCALE_KEYS: [(&str, &str); 2] =
    [("gamma_1", "ls1.gamma"), ("gamma_2", "ls2.gamma")];

/// Renames entries of every block `blocks.{i}.{from}` → `blocks.{i}.{to}` for each pair, in a
/// state dict of any tensor type; returns how many were renamed.
pub(crate) fn rename_block_keys<V>(
    tensors: &mut BTreeMap<String, V>,
    depth: usize,
    pairs: &[(&str, &str)],
) -> usize {
    let mut renamed = 0;
    for i in 0..depth {
        for (from, to) in pairs {
            if let Some(t) = tensors.remove(&format!("blocks.{i}.{from}")) {
                tensors.insert(format!("blocks.{i}.{to}"), t);
                renamed += 1;
            }
        }
    }
    renamed
}

/// Renames one entry `from` → `to` if present; whether it was.
pub(crate) fn rename_key<V>(tensors: &mut BTreeMap<String, V>, from: &str, to: &str) -> bool {
    match tensors.remove(from) {
        Some(t) => {
            tensors.insert(to.to_string(), t);
            true
        }
        None => false,
    }
}

/// Drops the entries `is_buffer` picks (timm's computed buffers saved by older checkpoints:
/// `relative_position_index`, `k_bias`…), noting them as ignored.
pub(crate) fn drop_buffers(
    tensors: &mut BTreeMap<String, Weight>,
    report: &mut LoadReport,
    is_buffer: impl Fn(&str) -> bool,
) {
    let buffers: Vec<String> = tensors.keys().filter(|k| is_buffer(k)).cloned().collect();
    for key in buffers {
        tensors.remove(&key);
        report.ignored.push(key);
    }
}

/// Arguments timm's class takes as Python classes, not names (`act_layer`, `block_fn` of CaiT,
/// XCiT, ViT-relpos): dropped from exported `model_args` when they are the catalogued
/// architecture's own (timm's entrypoint supplies them), an error naming the field otherwise.
pub(crate) fn drop_class_args<C: Serialize>(
    args: &mut Value,
    catalogued: Option<&C>,
    family: &str,
    architecture: &str,
    names: &[&str],
) -> Result<()> {
    let catalogued = catalogued.map(|c| serde_json::to_value(c).expect("configs serialise"));
    let Value::Object(map) = args else {
        return Ok(());
    };
    for name in names {
        let ours = map.remove(*name);
        let theirs = catalogued.as_ref().and_then(|c| c.get(*name));
        if ours.is_some() && ours.as_ref() != theirs {
            return Err(VitError::Unsupported {
                operation: format!("export as a timm folder (field `{name}`)"),
                family: family.into(),
                reason: format!(
                    "timm takes `{name}` as a Python class, so it must be `{architecture}`'s own \
                     ({}), not {}",
                    theirs.map_or("none".into(), Value::to_string),
                    ours.map_or("none".into(), |v| v.to_string())
                ),
            });
        }
    }
    Ok(())
}
