//! # vit-train
//!
//! Training the zoo (ViT, DeiT, Swin) on burn-train's `SupervisedTraining` + `Learner`: data
//! sets (the embedded digits, CIFAR-10/100, image folders), augmentation (random resized crop,
//! RandAugment, random erasing, Mixup/CutMix), AdamW with timm's parameter groups, global-norm
//! clipping and warm-up + cosine, metrics, atomic checkpoints and resume, early stopping,
//! several devices, fine-tuning and DeiT distillation, and the final per-class evaluation.

#![warn(missing_docs)]

pub mod augment;
pub mod batcher;
pub mod checkpoint;
pub mod cifar;
pub mod classifier;
pub mod config;
pub mod data;
pub mod digits;
pub mod early_stopping;
pub mod epoch_data;
pub mod finetune;
pub mod image_folder;
pub mod image_item;
pub mod logs;
pub mod loss;
pub mod mixup;
pub mod optimizer;
pub mod plot;
pub mod progress;
pub mod resize;
pub mod schedule;
pub mod train;
pub mod viz;

pub use config::TrainConfig;
pub use train::{Start, TrainSummary, train};
