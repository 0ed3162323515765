//! Swin Transformer V1 (Liu et al. 2021), Swin-S3 and Swin Transformer V2 (Liu et al. 2022) with
//! timm's structure, parameter names and architectures: a hierarchy of stages of shifted-window
//! attention blocks with patch merging between them.
//!
//! - [`model`]: the config and the model (stages, head);
//! - [`block`], [`window_attention`], [`windows`], [`patch_merging`]: its layers;
//! - [`catalogue`]: timm's pretrained Swin architectures (generated), [`presets`]: typed
//!   constructors for V1's;
//! - [`import`]: timm and original Microsoft checkpoints;
//! - [`flops`]: its compute cost.

mod architectures;
pub mod block;
pub mod catalogue;
pub mod flops;
pub mod import;
mod intermediates;
pub mod model;
pub mod patch_merging;
pub mod presets;
mod v2_architectures;
pub mod window_attention;
pub mod windows;

pub use catalogue::{
    SWIN_ARCHITECTURES, SWINV2_ARCHITECTURES, SwinArchitecture, swin_architecture,
    swin_architectures,
};
pub use model::{SwinTransformer, SwinTransformerConfig, SwinVersion};
