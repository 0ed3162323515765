//! The Eva family's part of the catalogue: timm's pretrained `eva.py` architectures as facts
//! ([`EVA_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::eva::config::EvaConfig;
use crate::eva::import::apply_timm_eva_args;
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::eva::architectures::EVA_ARCHITECTURES;

/// One architecture of timm's `eva.py`, as timm's entrypoint builds it.
pub type EvaArchitecture = TimmArchitecture<EvaConfig>;

impl TimmArgs for EvaConfig {
    fn for_architecture(name: &str) -> Self {
        EvaConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_eva_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `eva.py` has such a pretrained architecture.
pub fn eva_architecture(name: &str) -> Option<&'static EvaArchitecture> {
    find_architecture(EVA_ARCHITECTURES, name)
}
