//! BEiT's part of the catalogue: timm's pretrained `beit.py` architectures as facts
//! ([`BEIT_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::beit::config::BeitConfig;
use crate::beit::import::apply_timm_beit_args;
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::beit::architectures::BEIT_ARCHITECTURES;

/// One architecture of timm's `beit.py`, as timm's entrypoint builds it.
pub type BeitArchitecture = TimmArchitecture<BeitConfig>;

impl TimmArgs for BeitConfig {
    fn for_architecture(name: &str) -> Self {
        BeitConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_beit_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `beit.py` has such a pretrained architecture.
pub fn beit_architecture(name: &str) -> Option<&'static BeitArchitecture> {
    find_architecture(BEIT_ARCHITECTURES, name)
}
