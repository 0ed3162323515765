//! NaFlexViT's part of the catalogue: timm's pretrained `naflexvit.py` architectures as facts
//! ([`NAFLEX_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::naflex::config::NaflexConfig;
use crate::naflex::import::apply_timm_naflex_args;
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::naflex::architectures::NAFLEX_ARCHITECTURES;

/// One architecture of timm's `naflexvit.py`, as timm's entrypoint builds it.
pub type NaflexArchitecture = TimmArchitecture<NaflexConfig>;

impl TimmArgs for NaflexConfig {
    fn for_architecture(name: &str) -> Self {
        NaflexConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_naflex_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `naflexvit.py` has such a pretrained architecture.
pub fn naflex_architecture(name: &str) -> Option<&'static NaflexArchitecture> {
    find_architecture(NAFLEX_ARCHITECTURES, name)
}
