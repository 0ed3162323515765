//! # vit-core
//!
//! The Vision Transformer for [Burn](https://burn.dev), generic over the backend, with timm's
//! structure, parameter names, initialisation and presets.
//!
//! ```no_run
//! use burn::backend::NdArray;
//! use burn::tensor::Tensor;
//! use vit_core::presets::vit_preset;
//!
//! let device = Default::default();
//! let model = vit_preset("vit_tiny_patch16_224").unwrap().init::<NdArray>(&device);
//! let images = Tensor::<NdArray, 4>::zeros([1, 3, 224, 224], &device);
//! let logits = model.forward(images); // [1, 1000]
//! ```
//!
//! Every part is a `*Config` (serde, `init(&device)`) and a `Module`:
//! [`patch_embed`], [`pos_embed`], [`attention`], [`mlp`], [`drop_path`], [`layer_scale`],
//! [`block`], [`pooling`], and the model itself in [`vit`].

#![warn(missing_docs)]

pub mod attention;
pub mod attention_maps;
pub mod block;
pub mod checkpoint;
pub mod config_file;
pub mod drop_path;
pub mod error;
pub mod flops;
pub mod imagenet;
pub mod init;
pub mod layer_scale;
pub mod mlp;
pub mod model_folder;
pub mod param_count;
pub mod patch_embed;
pub mod pooling;
pub mod pos_embed;
pub mod preprocess;
pub mod presets;
pub mod pretrained;
pub mod resample;
pub mod state_dict;
pub mod timm_folder;
pub mod vit;
pub mod vit_import;

pub use error::{Result, VitError};
pub use vit::{VisionTransformer, VisionTransformerConfig, VitIntermediates};
