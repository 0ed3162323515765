//! The ViT family's part of the catalogue: timm's pretrained architectures as facts
//! ([`VIT_ARCHITECTURES`], generated from timm by `scripts/make_catalogue.py`), turned into configs
//! by the same translation a timm folder's `model_args` go through — one path for both.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Result, VitError};
use crate::vit::VisionTransformerConfig;
use crate::vit::import::apply_timm_vit_args_map;

pub use crate::vit::architectures::VIT_ARCHITECTURES;

/// One architecture of timm's ViT family, as timm's entrypoint builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VitArchitecture {
    /// timm's architecture name, e.g. `vit_small_patch14_reg4_dinov2`.
    pub name: &'static str,
    /// The timm module that defines it (`vision_transformer`, `deit`,
    /// `vision_transformer_hybrid`).
    pub module: &'static str,
    /// timm's model class: `VisionTransformer` or `VisionTransformerDistilled` (DeiT).
    pub class: &'static str,
    /// The entrypoint's model arguments (JSON object, timm's names and values).
    pub model_args: &'static str,
    /// timm's parameter count with the default head.
    pub params: u64,
}

impl VitArchitecture {
    /// The entrypoint's arguments as a JSON object.
    pub fn args(&self) -> Map<String, Value> {
        match serde_json::from_str(self.model_args) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("the generated catalogue holds JSON objects"),
        }
    }

    /// The config timm's entrypoint builds, or the error naming the argument vit-core cannot
    /// honour yet (and the architecture).
    pub fn config(&self) -> Result<VisionTransformerConfig> {
        let base = VisionTransformerConfig::new()
            .with_distilled(self.class == "VisionTransformerDistilled");
        let origin = Path::new(self.name);
        apply_timm_vit_args_map(&base, &self.args(), None, origin).map_err(|e| match e {
            VitError::ModelArg { arg, reason, .. } => VitError::UnsupportedArchitecture {
                architecture: self.name.to_string(),
                arg,
                reason,
            },
            other => other,
        })
    }

    /// The family the architecture belongs to in the zoo: `deit` for `deit.py`'s, `hybrid` for
    /// the ResNet/ConvStem hybrids, `vit` otherwise.
    pub fn family(&self) -> &'static str {
        match self.module {
            "deit" => "deit",
            "vision_transformer_hybrid" => "hybrid",
            _ => "vit",
        }
    }
}

/// The catalogue row of `name`, if timm has such a ViT-family architecture.
pub fn vit_architecture(name: &str) -> Option<&'static VitArchitecture> {
    VIT_ARCHITECTURES.iter().find(|a| a.name == name)
}

impl VisionTransformerConfig {
    /// The config of a catalogued architecture, for the generated typed constructors (only
    /// written for architectures that build: a registry test builds every one).
    pub(crate) fn catalogued(name: &str) -> Self {
        vit_architecture(name)
            .and_then(|a| a.config().ok())
            .unwrap_or_else(|| unreachable!("`{name}` is a buildable catalogue architecture"))
    }

    /// The config of timm's architecture `name` (any of the catalogue's); the error names the
    /// closest architectures, or the argument vit-core cannot honour yet.
    pub fn architecture(name: &str) -> Result<Self> {
        match vit_architecture(name) {
            Some(a) => a.config(),
            None => Err(VitError::UnknownPreset {
                name: name.to_string(),
                available: VIT_ARCHITECTURES
                    .iter()
                    .map(|a| a.name.to_string())
                    .collect(),
            }),
        }
    }
}
