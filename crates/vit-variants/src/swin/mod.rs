//! Swin Transformer V1 (Liu et al. 2021) with timm's structure, parameter names and presets: a
//! hierarchy of stages of shifted-window attention blocks with patch merging between them.
//!
//! - [`model`]: the config and the model (stages, head);
//! - [`block`], [`window_attention`], [`windows`], [`patch_merging`]: its layers;
//! - [`presets`]: timm's named Swin configurations;
//! - [`import`]: timm and original Microsoft checkpoints;
//! - [`flops`]: its compute cost.

pub mod block;
pub mod flops;
pub mod import;
mod intermediates;
pub mod model;
pub mod patch_merging;
pub mod presets;
pub mod window_attention;
pub mod windows;

pub use model::{SwinTransformer, SwinTransformerConfig};
