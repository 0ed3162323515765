//! The training config file (JSON): every knob of a run, unknown fields rejected by name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vit_core::VisionTransformerConfig;
use vit_core::pooling::GlobalPool;
use vit_variants::zoo::ZooConfig;

/// Which data set to train on.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// The embedded UCI digits (offline, in the repository).
    Digits,
}

/// Everything a training run needs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The model to train (`{"family": …, "config": …}`); its `img_size`/`in_chans` set the input.
    pub model: ZooConfig,
    /// The data set.
    pub data: DataSpec,
    /// Images per optimiser step.
    pub batch_size: usize,
    /// Passes over the training split.
    pub epochs: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    /// Epochs of linear warm-up.
    pub warmup_epochs: usize,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Cross-entropy label smoothing.
    pub label_smoothing: f64,
    /// Random-shift augmentation: pad by this many pixels and crop back (0 = off).
    pub crop_padding: usize,
    /// Random horizontal flips (off for digits: a mirrored 2 is not a 2).
    pub hflip: bool,
    /// Per-channel mean for normalisation (values in [0, 1]).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation for normalisation.
    pub std: Vec<f32>,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Data-loader worker threads.
    pub num_workers: usize,
}

impl TrainConfig {
    /// The default run (`vit train` with no arguments): a small ViT on the embedded digits,
    /// upscaled 8×8 → 16×16 with 4×4 patches (16 tokens + the class token).
    pub fn digits_default() -> Self {
        let vit = VisionTransformerConfig::new()
            .with_img_size([16, 16])
            .with_patch_size(4)
            .with_in_chans(1)
            .with_num_classes(10)
            .with_embed_dim(64)
            .with_depth(4)
            .with_num_heads(4)
            .with_mlp_ratio(2.0)
            .with_global_pool(GlobalPool::Token)
            .with_drop_path_rate(0.1);
        Self {
            model: ZooConfig::Vit(vit),
            data: DataSpec::Digits,
            batch_size: 64,
            epochs: 40,
            lr: 2e-3,
            min_lr: 1e-5,
            warmup_epochs: 3,
            weight_decay: 0.05,
            label_smoothing: 0.1,
            crop_padding: 2,
            hflip: false,
            mean: vec![0.5],
            std: vec![0.5],
            seed: 42,
            num_workers: 1,
        }
    }

    /// Reads a config file; an unknown or mistyped field is an error naming it and the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the training config: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks what serde cannot: sizes and rates.
    pub fn validate(&self) -> Result<(), String> {
        self.model.validate().map_err(|e| e.to_string())?;
        let [c, _, _] = self.model.input_size();
        if self.batch_size == 0 || self.epochs == 0 {
            return Err("batch_size and epochs must be at least 1".into());
        }
        if self.mean.len() != c || self.std.len() != c {
            return Err(format!(
                "mean and std need {c} values (one per input channel), got {} and {}",
                self.mean.len(),
                self.std.len()
            ));
        }
        if !(self.lr > 0.0 && self.min_lr >= 0.0 && self.min_lr <= self.lr) {
            return Err(format!(
                "need 0 <= min_lr <= lr and lr > 0, got lr {} min_lr {}",
                self.lr, self.min_lr
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if let DataSpec::Digits = self.data
            && c != 1
        {
            return Err(format!(
                "the digits are greyscale: the model needs in_chans = 1, has {c}"
            ));
        }
        Ok(())
    }
}

/// Where a run writes: the model folder, the log, the plot, the checkpoints.
#[derive(Debug, Clone)]
pub struct RunPaths {
    /// Root of the run.
    pub dir: PathBuf,
}

impl RunPaths {
    /// The trained model (`model.json` + `model.bpk`).
    pub fn model(&self) -> PathBuf {
        self.dir.join("model")
    }
    /// Per-epoch metrics.
    pub fn log(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }
}
