//! timm's `cait.py` — CaiT (Touvron et al. 2021): talking-heads self-attention over the patches,
//! then class-attention blocks ([`vit_core::layers::class_attention`]) in which a class token
//! gathers them, LayerScale everywhere. [`CaitConfig`] holds timm's `Cait` arguments under
//! timm's names, [`model`] the model (same keys as timm's), [`catalogue`] timm's pretrained
//! architectures.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;
pub mod model;
pub mod talking_heads;

pub use catalogue::{CAIT_ARCHITECTURES, CaitArchitecture, cait_architecture};
pub use config::{CAIT_FAMILY, CaitConfig};
pub use model::Cait;
