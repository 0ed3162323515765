//! XCiT's part of the catalogue: timm's pretrained `xcit.py` architectures as facts
//! ([`XCIT_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into
//! configs by the same translation a timm folder's `model_args` go through.

use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::Result;

use crate::timm_architecture::{TimmArchitecture, TimmArgs, find_architecture};
use crate::xcit::config::XcitConfig;
use crate::xcit::import::apply_timm_xcit_args;

pub use crate::xcit::architectures::XCIT_ARCHITECTURES;

/// One architecture of timm's `xcit.py`, as timm's entrypoint builds it.
pub type XcitArchitecture = TimmArchitecture<XcitConfig>;

impl TimmArgs for XcitConfig {
    fn for_architecture(name: &str) -> Self {
        XcitConfig::new().with_architecture(name.to_string())
    }

    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self> {
        apply_timm_xcit_args(base, args, num_classes, path)
    }
}

/// The catalogue row of `name`, if timm's `xcit.py` has such a pretrained architecture.
pub fn xcit_architecture(name: &str) -> Option<&'static XcitArchitecture> {
    find_architecture(XCIT_ARCHITECTURES, name)
}
