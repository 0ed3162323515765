//! # vit-train
//!
//! Training the zoo (ViT, DeiT, Swin) on burn-train's `SupervisedTraining` + `Learner`, by
//! concern:
//! - [`config`]: the training config (JSON), validated before any data is read;
//! - [`data`]: data sets (the embedded digits, CIFAR-10/100, image folders), epoch order and
//!   batching;
//! - [`augment`]: random resized crop, RandAugment, random erasing, Mixup/CutMix;
//! - [`optim`]: AdamW with timm's parameter groups and global-norm clipping, warm-up + cosine;
//! - [`learner`]: the train/valid steps and losses (DeiT distillation), checkpoints, early
//!   stopping, the epoch renderer;
//! - [`run`]: one run as named steps — resume point, model, data, learner, evaluation, save —
//!   with fine-tuning (frozen backbone) and the logs and curves it writes;
//! - [`cluster`]: multi-node data-parallel training (`vit orchestrator`, burn-collective all-reduce, `multinode` feature);
//! - [`error`]: [`TrainError`], what any of it can fail with.

#![warn(missing_docs)]

pub mod augment;
pub mod cluster;
pub mod config;
pub mod data;
pub mod error;
pub mod learner;
pub mod optim;
pub mod run;

pub use config::TrainConfig;
pub use error::{Result, TrainError};
pub use run::{Start, TrainSummary, train, train_on_nodes};
