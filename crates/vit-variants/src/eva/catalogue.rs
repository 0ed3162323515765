//! The Eva family's part of the catalogue: timm's pretrained `eva.py` architectures as facts
//! ([`EVA_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::{Result, VitError};

use crate::eva::config::EvaConfig;
use crate::eva::import::apply_timm_eva_args;

pub use crate::eva::architectures::EVA_ARCHITECTURES;

/// One architecture of timm's `eva.py`, as timm's entrypoint builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaArchitecture {
    /// timm's architecture name, e.g. `eva02_small_patch14_224`.
    pub name: &'static str,
    /// The entrypoint's model arguments (JSON object, timm's names and values).
    pub model_args: &'static str,
    /// timm's parameter count with the default head.
    pub params: u64,
}

impl EvaArchitecture {
    /// The entrypoint's arguments as a JSON object.
    pub fn args(&self) -> Map<String, Value> {
        match serde_json::from_str(self.model_args) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("the generated catalogue holds JSON objects"),
        }
    }

    /// The config timm's entrypoint builds, or the error naming the argument this
    /// implementation cannot honour yet (and the architecture).
    pub fn config(&self) -> Result<EvaConfig> {
        let base = EvaConfig::new().with_architecture(self.name.to_string());
        apply_timm_eva_args(&base, &self.args(), None, Path::new(self.name)).map_err(|e| match e {
            VitError::ModelArg { arg, reason, .. } => VitError::UnsupportedArchitecture {
                architecture: self.name.to_string(),
                arg,
                reason,
            },
            other => other,
        })
    }
}

/// The catalogue row of `name`, if timm's `eva.py` has such a pretrained architecture.
pub fn eva_architecture(name: &str) -> Option<&'static EvaArchitecture> {
    EVA_ARCHITECTURES.iter().find(|a| a.name == name)
}
