//! The zoo's one preset registry: every named architecture (the ViT family from the generated
//! catalogue — ViT, DeiT, DINOv2, CLIP, SigLIP, AIMv2… — and Swin), listed from the families' own
//! tables, so a preset is written once.

use vit_core::error::{Result, VitError};
use vit_core::vit::{vit_architecture, vit_presets};

use crate::beit::{BEIT_ARCHITECTURES, beit_architecture};
use crate::cait::{CAIT_ARCHITECTURES, cait_architecture};
use crate::eva::{EVA_ARCHITECTURES, eva_architecture};
use crate::naflex::{NAFLEX_ARCHITECTURES, naflex_architecture};
use crate::relpos::{RELPOS_ARCHITECTURES, relpos_architecture};
use crate::swin::{swin_architecture, swin_architectures};
use crate::xcit::{XCIT_ARCHITECTURES, xcit_architecture};
use crate::zoo::ZooConfig;

/// Every preset of the zoo by timm's architecture name, ViT family first, then Swin, then the
/// Eva, NaFlexViT, BEiT, ViT-relpos, CaiT and XCiT architectures that build.
pub fn zoo_presets() -> impl Iterator<Item = (&'static str, ZooConfig)> {
    let vits = vit_presets().map(|(name, config)| (name, ZooConfig::Vit(config)));
    let swins =
        swin_architectures().filter_map(|a| Some((a.name, ZooConfig::Swin(a.config().ok()?))));
    let evas = EVA_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::Eva(a.config().ok()?))));
    let naflexes = NAFLEX_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::Naflex(a.config().ok()?))));
    let beits = BEIT_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::Beit(a.config().ok()?))));
    let relpos = RELPOS_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::RelPos(a.config().ok()?))));
    let caits = CAIT_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::Cait(a.config().ok()?))));
    let xcits = XCIT_ARCHITECTURES
        .iter()
        .filter_map(|a| Some((a.name, ZooConfig::Xcit(a.config().ok()?))));
    vits.chain(swins)
        .chain(evas)
        .chain(naflexes)
        .chain(beits)
        .chain(relpos)
        .chain(caits)
        .chain(xcits)
}

/// The preset named `name`; the error names the closest names, or for a catalogued
/// architecture vit-core cannot build yet, the timm argument it lacks.
pub fn zoo_preset(name: &str) -> Result<ZooConfig> {
    if let Some(architecture) = vit_architecture(name) {
        return architecture.config().map(ZooConfig::Vit);
    }
    if let Some(architecture) = eva_architecture(name) {
        return architecture.config().map(ZooConfig::Eva);
    }
    if let Some(architecture) = naflex_architecture(name) {
        return architecture.config().map(ZooConfig::Naflex);
    }
    if let Some(architecture) = swin_architecture(name) {
        return architecture.config().map(ZooConfig::Swin);
    }
    if let Some(architecture) = beit_architecture(name) {
        return architecture.config().map(ZooConfig::Beit);
    }
    if let Some(architecture) = relpos_architecture(name) {
        return architecture.config().map(ZooConfig::RelPos);
    }
    if let Some(architecture) = cait_architecture(name) {
        return architecture.config().map(ZooConfig::Cait);
    }
    if let Some(architecture) = xcit_architecture(name) {
        return architecture.config().map(ZooConfig::Xcit);
    }
    zoo_presets()
        .find(|(n, _)| *n == name)
        .map(|(_, config)| config)
        .ok_or_else(|| VitError::UnknownPreset {
            name: name.to_string(),
            available: zoo_presets().map(|(n, _)| n.to_string()).collect(),
        })
}
