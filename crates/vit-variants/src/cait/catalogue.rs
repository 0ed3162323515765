//! CaiT's part of the catalogue: timm's pretrained `cait.py` architectures as facts
//! ([`CAIT_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::cait::config::CaitConfig;
use crate::cait::import::apply_timm_cait_args;
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::cait::architectures::CAIT_ARCHITECTURES;

/// One architecture of timm's `cait.py`, as timm's entrypoint builds it.
pub type CaitArchitecture = TimmArchitecture<CaitConfig>;

impl TimmArgs for CaitConfig {
    fn for_architecture(name: &str) -> Self {
        CaitConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_cait_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `cait.py` has such a pretrained architecture.
pub fn cait_architecture(name: &str) -> Option<&'static CaitArchitecture> {
    find_architecture(CAIT_ARCHITECTURES, name)
}
