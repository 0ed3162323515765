//! # vit-viz
//!
//! What a ViT sees, as numbers and as pictures, without burn-train: an inference user draws
//! attention maps with this crate and a model crate alone.
//!
//! - [`attention_maps`]: attention rollout, class-token maps, mean attention distance and
//!   position-embedding similarity, on plain `f32` slices (read them out of a model with
//!   `vit_core::model::VisionModel::attention_weights` and `patch_positions`);
//! - [`figures`]: PNG overlays, similarity grids and distance plots of those numbers;
//! - [`filters`]: principal components of the linear patch-embedding filters (the ViT paper's
//!   "RGB embedding filters"), as numbers and as a picture;
//! - [`charts`]: PNG line charts (training curves) and the shared font, palette and encoding.

#![warn(missing_docs)]

pub mod attention_maps;
pub mod charts;
pub mod figures;
pub mod filters;
