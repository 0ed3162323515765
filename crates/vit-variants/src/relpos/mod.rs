//! timm's `vision_transformer_relpos.py` — ViTs with a relative position MLP of log-spaced offsets
//! instead of a position embedding ([`vit_core::layers::rel_pos`]), per block or shared, pre- or
//! residual-post-norm — as vit-core ViTs: [`VitRelPosConfig`] holds timm's arguments under
//! timm's names, [`catalogue`] lists timm's pretrained architectures.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;

pub use catalogue::{RELPOS_ARCHITECTURES, RelPosArchitecture, relpos_architecture};
pub use config::{RELPOS_FAMILY, VitRelPosConfig};
