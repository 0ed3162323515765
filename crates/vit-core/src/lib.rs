//! # vit-core
//!
//! The Vision Transformer for [Burn](https://burn.dev), generic over the backend, with timm's
//! structure, parameter names, initialisation and presets — and the parts every model of the
//! zoo shares.
//!
//! ```no_run
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use vit_core::prelude::*;
//!
//! let device = Default::default();
//! let model = VisionTransformerConfig::vit_tiny_patch16_224()
//!     .with_num_classes(10)
//!     .init::<NdArray>(&device);
//! let images = Tensor::<NdArray, 4>::zeros([1, 3, 224, 224], &device);
//! let logits = model.forward(images); // [1, 10]
//! ```
//!
//! The crate by concern:
//! - [`layers`]: the building blocks, as timm's `timm/layers` (attention, MLP, block, patch and
//!   position embeddings, pooling, stochastic depth, LayerScale, initialisation);
//! - [`vit`]: the ViT — config, model, presets (ViT, DeiT, DeiT III), cost, timm import;
//! - [`model`]: the traits every family implements ([`model::VisionModel`],
//!   [`model::ModelConfig`]);
//! - [`weights`]: checkpoints, timm folders, our saved folders, config files, and
//!   [`weights::Pretrained`], which loads any of them;
//! - [`preprocess`]: timm's evaluation transform and ImageNet class names;
//! - [`inspect`]: attention weights and position embeddings as data;
//! - [`precision`]: mixed precision (bf16/f16 autocast).

#![warn(missing_docs)]

pub mod atomic_file;
pub mod error;
pub mod features;
pub mod inspect;
pub mod layers;
pub mod limits;
pub mod memory;
pub mod model;
pub mod names;
pub mod npy;
pub mod precision;
pub mod preprocess;
pub mod vit;
pub mod weights;

pub use error::{Result, VitError};
pub use vit::{VisionTransformer, VisionTransformerConfig, VitBlockOutputs};
/// The fused ops the models run on, and the switch back to Burn's composed ops
/// (`vit_core::ops::set_fast_path(false)`).
pub use vit_ops as ops;
/// The backend bound of every model: Burn's `Backend` with the ViT's fused ops (see `vit-ops`).
pub use vit_ops::{VitAutodiffBackend, VitBackend};

/// The names most programs need: `use vit_core::prelude::*;`.
pub mod prelude {
    pub use crate::error::{Result, VitError};
    pub use crate::model::{ModelConfig, VisionModel};
    pub use crate::preprocess::{EvalTransform, PretrainedCfg};
    pub use crate::vit::import::PretrainedVit;
    pub use crate::vit::{VisionTransformer, VisionTransformerConfig};
    pub use crate::weights::{ModelFamily, Pretrained};
    pub use vit_ops::{VitAutodiffBackend, VitBackend};
}
