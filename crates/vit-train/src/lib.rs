//! # vit-train
//!
//! Training the zoo (ViT, DeiT, Swin) on burn-train's `SupervisedTraining` + `Learner`: data
//! sets (the embedded digits, …), augmentation, AdamW with warm-up + cosine, metrics,
//! checkpoints, and the final per-class evaluation.

#![warn(missing_docs)]

pub mod batcher;
pub mod classifier;
pub mod config;
pub mod digits;
pub mod image_item;
pub mod progress;
pub mod resize;
pub mod schedule;
pub mod train;

pub use config::TrainConfig;
pub use train::{TrainSummary, train};
