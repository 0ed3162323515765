//! ViT-relpos' part of the catalogue: timm's pretrained `vision_transformer_relpos.py` architectures
//! as facts
//! ([`RELPOS_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::relpos::config::VitRelPosConfig;
use crate::relpos::import::apply_timm_relpos_args;
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::relpos::architectures::RELPOS_ARCHITECTURES;

/// One architecture of timm's `vision_transformer_relpos.py`, as timm's entrypoint builds it.
pub type RelPosArchitecture = TimmArchitecture<VitRelPosConfig>;

impl TimmArgs for VitRelPosConfig {
    fn for_architecture(name: &str) -> Self {
        VitRelPosConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_relpos_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `vision_transformer_relpos.py` has such a pretrained architecture.
pub fn relpos_architecture(name: &str) -> Option<&'static RelPosArchitecture> {
    find_architecture(RELPOS_ARCHITECTURES, name)
}
