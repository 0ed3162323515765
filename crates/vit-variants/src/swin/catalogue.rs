//! Swin's part of the catalogue: timm's pretrained `swin_transformer.py` (V1, Swin-S3) and
//! `swin_transformer_v2.py` architectures as facts ([`SWIN_ARCHITECTURES`],
//! [`SWINV2_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::swin::import::apply_timm_swin_args;
use crate::swin::model::{SwinTransformerConfig, SwinVersion};
use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};

pub use crate::swin::architectures::SWIN_ARCHITECTURES;
pub use crate::swin::v2_architectures::SWINV2_ARCHITECTURES;

/// One architecture of timm's `swin_transformer.py` or `swin_transformer_v2.py`.
pub type SwinArchitecture = TimmArchitecture<SwinTransformerConfig>;

/// timm's naming: every `swin_transformer_v2.py` architecture is `swinv2_*`.
pub fn version_of(architecture: &str) -> SwinVersion {
    if architecture.starts_with("swinv2_") {
        SwinVersion::V2
    } else {
        SwinVersion::V1
    }
}

impl TimmArgs for SwinTransformerConfig {
    fn for_architecture(name: &str) -> Self {
        // timm's classes differ from ours in two defaults: no stochastic depth is recorded in
        // an entrypoint's arguments, and V2 is its own class.
        SwinTransformerConfig::new().with_version(version_of(name))
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_swin_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's Swin modules have such a pretrained architecture.
pub fn swin_architecture(name: &str) -> Option<&'static SwinArchitecture> {
    find_architecture(SWIN_ARCHITECTURES, name)
        .or_else(|| find_architecture(SWINV2_ARCHITECTURES, name))
}

/// Every Swin architecture of the catalogue, V1 and S3 first.
pub fn swin_architectures() -> impl Iterator<Item = &'static SwinArchitecture> {
    SWIN_ARCHITECTURES.iter().chain(SWINV2_ARCHITECTURES)
}
