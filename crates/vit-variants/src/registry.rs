//! The zoo's one preset registry: every named architecture (ViT, DeiT, DeiT III, Swin), listed
//! from the families' own preset tables, so a preset is written once.

use vit_core::error::{Result, VitError};
use vit_core::vit::VIT_PRESETS;

use crate::swin::presets::SWIN_PRESETS;
use crate::zoo::ZooConfig;

/// Every preset of the zoo by timm's architecture name, ViT family first.
pub fn zoo_presets() -> impl Iterator<Item = (&'static str, ZooConfig)> {
    let vits = VIT_PRESETS
        .iter()
        .map(|(name, build)| (*name, ZooConfig::Vit(build())));
    let swins = SWIN_PRESETS
        .iter()
        .map(|(name, build)| (*name, ZooConfig::Swin(build())));
    vits.chain(swins)
}

/// The preset named `name`; the error lists every name.
pub fn zoo_preset(name: &str) -> Result<ZooConfig> {
    zoo_presets()
        .find(|(n, _)| *n == name)
        .map(|(_, config)| config)
        .ok_or_else(|| VitError::UnknownPreset {
            name: name.to_string(),
            available: zoo_presets().map(|(n, _)| n.to_string()).collect(),
        })
}
