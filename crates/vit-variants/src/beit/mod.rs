//! timm's `beit.py` — BEiT and BEiT v2 — as vit-core ViTs with BEiT's relative position tables
//! ([`vit_core::layers::rel_pos`]): [`BeitConfig`] holds timm's `Beit` arguments under timm's
//! names, [`import`] maps BEiT's key layout onto the ViT's and back, [`catalogue`] lists timm's
//! pretrained architectures.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;

pub use catalogue::{BEIT_ARCHITECTURES, BeitArchitecture, beit_architecture};
pub use config::{BEIT_FAMILY, BeitConfig};
