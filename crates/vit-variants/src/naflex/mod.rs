//! timm's NaFlexViT (`naflexvit.py`: SigLIP2 NaFlex, C-RADIO v3/v4, timm's `naflexvit_*_gap`)
//! at fixed resolution, as vit-core ViTs: [`NaflexConfig`] holds timm's `NaFlexVitCfg` fields,
//! [`import`] maps NaFlexViT's keys (`embeds.*`, the linear `(ph, pw, C)` patch projection, the
//! NHWC position grid) onto the ViT's. Image batches of any size of whole patches run; the
//! variable-sequence packing path (pre-patchified inputs with coordinates and masks) does not
//! exist here yet.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;

pub use catalogue::{NAFLEX_ARCHITECTURES, NaflexArchitecture, naflex_architecture};
pub use config::{NAFLEX_FAMILY, NaflexConfig, NaflexPosEmbed};
