//! # vit-variants
//!
//! DeiT and Swin Transformer for Burn, built from vit-core's pieces (attention maths, MLP,
//! stochastic depth, patch embedding, weight loading) with timm's structure, parameter names and
//! presets.

#![warn(missing_docs)]

pub mod deit;
pub mod flops;
pub mod import;
pub mod inspect;
pub mod patch_merging;
pub mod presets;
pub mod swin;
pub mod swin_block;
pub mod window_attention;
pub mod windows;
pub mod zoo;

pub use swin::{SwinTransformer, SwinTransformerConfig};
