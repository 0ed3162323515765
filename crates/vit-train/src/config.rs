//! The training config file (JSON): every knob of a run, unknown fields rejected by name.

use crate::error::{Result, TrainError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vit_core::VisionTransformerConfig;
use vit_core::layers::pooling::GlobalPool;
use vit_core::model::ModelConfig;
use vit_core::precision::Precision;
use vit_variants::zoo::ZooConfig;

use crate::augment::mixup::MixupConfig;
use crate::augment::{RandAugmentConfig, RandomErasingConfig, RandomResizedCropConfig};
pub use crate::data::DataSpec;
use crate::learner::loss::{DistillationKind, DistillationLoss};
use crate::optim::loss_scale::LossScaleConfig;
use crate::run::finetune::InitSpec;

/// The most `devices` or `num_workers` a config may ask for (each is a thread).
pub const MAX_THREADS_FIELD: usize = 1024;

/// The per-image and per-batch augmentations of the training split, each optional.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Random shift: pad by this many pixels and crop back (0 = off).
    #[serde(default)]
    pub crop_padding: usize,
    /// Random horizontal flips (off for digits: a mirrored 2 is not a 2).
    #[serde(default)]
    pub hflip: bool,
    /// Random resized crop (torchvision's `RandomResizedCrop`).
    #[serde(default)]
    pub random_resized_crop: Option<RandomResizedCropConfig>,
    /// RandAugment (timm's `rand-m9-mstd0.5` by default).
    #[serde(default)]
    pub rand_augment: Option<RandAugmentConfig>,
    /// Random erasing after normalisation (timm's `RandomErasing`, pixel mode).
    #[serde(default)]
    pub random_erasing: Option<RandomErasingConfig>,
    /// Mixup / CutMix with soft targets (timm's `Mixup`).
    #[serde(default)]
    pub mixup: Option<MixupConfig>,
}

/// A teacher for DeiT distillation.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistillationConfig {
    /// The teacher: any zoo model folder (timm or ours) or a weights file with `teacher_model`.
    pub teacher: PathBuf,
    /// Preset name or config file of a bare teacher weights file.
    #[serde(default)]
    pub teacher_model: Option<String>,
    /// `none`, `soft` (KL at temperature `tau`) or `hard` (teacher's arg-max as label).
    pub kind: DistillationKind,
    /// Weight of the teacher term (DeiT: 0.5).
    #[serde(default = "half")]
    pub alpha: f64,
    /// Temperature of the soft term (DeiT: 1.0).
    #[serde(default = "one_f64")]
    pub tau: f64,
}

impl DistillationConfig {
    /// The loss these settings describe.
    pub fn loss(&self) -> DistillationLoss {
        DistillationLoss {
            kind: self.kind,
            alpha: self.alpha,
            tau: self.tau,
        }
    }
}

fn half() -> f64 {
    0.5
}

fn one_f64() -> f64 {
    1.0
}

/// The largest learning rate a config may ask for.
pub const MAX_LR: f64 = 1.0;

/// Everything a training run needs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The model to train (`{"family": …, "config": …}`); its `img_size`/`in_chans` set the
    /// input. Optional with `init` from a folder (the folder names the architecture).
    #[serde(default)]
    pub model: Option<ZooConfig>,
    /// Start from pretrained weights (fine-tuning) instead of a random initialisation.
    #[serde(default)]
    pub init: Option<InitSpec>,
    /// The data set.
    pub data: DataSpec,
    /// Images per optimiser step (per device).
    pub batch_size: usize,
    /// Passes over the training split.
    pub epochs: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    /// Epochs of linear warm-up.
    pub warmup_epochs: usize,
    /// AdamW decoupled weight decay (not applied to biases, norms, tokens, position embeddings).
    pub weight_decay: f64,
    /// Cross-entropy label smoothing.
    pub label_smoothing: f64,
    /// Clip the global gradient norm to this (PyTorch's `clip_grad_norm_`); absent = off.
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Override of the model's stochastic-depth rate.
    #[serde(default)]
    pub drop_path_rate: Option<f64>,
    /// Augmentation of the training split.
    #[serde(default)]
    pub augment: AugmentConfig,
    /// Per-channel mean for normalisation (values in [0, 1]); empty with `init`: the
    /// checkpoint's own (`pretrained_cfg.mean`).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation for normalisation; empty with `init`: the checkpoint's.
    pub std: Vec<f32>,
    /// DeiT distillation from a teacher (the model must be a distilled DeiT).
    #[serde(default)]
    pub distillation: Option<DistillationConfig>,
    /// Stop when the validation loss has not improved for this many epochs; absent = off.
    #[serde(default)]
    pub early_stopping_patience: Option<usize>,
    /// Epoch checkpoints kept in `learner/checkpoint`: the last this many, plus the one with
    /// the lowest validation loss (older ones are deleted as training goes).
    #[serde(default = "two")]
    pub keep_checkpoints: usize,
    /// Data-parallel training on this many devices of the backend (burn-train's multi-device
    /// strategy; the gradients are averaged).
    #[serde(default = "one")]
    pub devices: usize,
    /// Precision of the matrix products (autocast): `f32`, `bf16` or `f16`; weights, optimiser
    /// state, checkpoints and the saved model stay f32 whatever it is.
    #[serde(default)]
    pub precision: Precision,
    /// f16's dynamic loss scale (unused by f32 and bf16).
    #[serde(default)]
    pub loss_scale: LossScaleConfig,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Data-loader worker threads.
    pub num_workers: usize,
}

fn one() -> usize {
    1
}

fn two() -> usize {
    2
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
            model: Some(ZooConfig::Vit(vit)),
            init: None,
            data: DataSpec::Digits,
            batch_size: 64,
            epochs: 40,
            lr: 2e-3,
            min_lr: 1e-5,
            warmup_epochs: 3,
            weight_decay: 0.05,
            label_smoothing: 0.1,
            grad_clip: None,
            drop_path_rate: None,
            augment: AugmentConfig {
                crop_padding: 2,
                ..AugmentConfig::default()
            },
            mean: vec![0.5],
            std: vec![0.5],
            distillation: None,
            early_stopping_patience: None,
            keep_checkpoints: 2,
            devices: 1,
            precision: Precision::F32,
            loss_scale: LossScaleConfig::default(),
            seed: 42,
            num_workers: 1,
        }
    }

    /// Reads a config file; an unknown or mistyped field is an error naming it and the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            TrainError::Config(format!(
                "{}: cannot read the training config: {e}",
                path.display()
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
    }

    /// Sets one field by its dotted path (`lr`, `augment.hflip`, `data.path`, …) from text
    /// that is JSON (`0.1`, `true`, `{"kind": "digits"}`) or else a plain string; the result is
    /// checked as a whole config, so a misspelt field is an error naming it.
    pub fn set(&mut self, path: &str, value: &str) -> Result<()> {
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        let mut root = serde_json::to_value(&*self).expect("configs serialise");
        let mut node = &mut root;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let object = node.as_object_mut().ok_or_else(|| {
                TrainError::Config(format!(
                    "--set {path}: `{}` is not an object",
                    parts[..i].join(".")
                ))
            })?;
            if i + 1 == parts.len() {
                object.insert(part.to_string(), value.clone());
                break;
            }
            node = object
                .entry(part.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if node.is_null() {
                *node = serde_json::Value::Object(Default::default());
            }
        }
        *self = serde_json::from_value(root)
            .map_err(|e| TrainError::Config(format!("--set {path}: {e}")))?;
        Ok(())
    }

    /// Trains on `data`, with the model following it where the config still has the default
    /// digits model: `in_chans` becomes the data's, and a mean/std of the wrong length becomes
    /// the data's usual one (CIFAR's statistics, 0.5 elsewhere). A model the user chose is left
    /// alone (validation then names any mismatch).
    pub fn with_data(mut self, data: DataSpec) -> Self {
        let channels = data.channels();
        if let Some(ZooConfig::Vit(vit)) = &mut self.model
            && self.init.is_none()
            && vit.in_chans != channels
        {
            vit.in_chans = channels;
            if matches!(data, DataSpec::Cifar10 { .. } | DataSpec::Cifar100 { .. }) {
                // CIFAR's native size, so nothing is resized.
                vit.img_size = [32, 32];
            }
        }
        if self.init.is_none() && self.mean.len() != channels {
            let (mean, std) = match data {
                DataSpec::Cifar10 { .. } | DataSpec::Cifar100 { .. } => {
                    (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])
                }
                _ => (vec![0.5; channels], vec![0.5; channels]),
            };
            self.mean = mean;
            self.std = std;
        }
        self.data = data;
        self
    }

    /// Fine-tunes from `from` (a timm folder, a folder `vit train`/`vit convert` wrote, or a
    /// bare weights file with a `model` given): the architecture, input size and normalisation
    /// follow the checkpoint — the default model and the default mean/std are dropped.
    pub fn with_init(mut self, from: impl Into<PathBuf>) -> Self {
        let defaults = Self::digits_default();
        if self.model == defaults.model {
            self.model = None;
        }
        if self.mean == defaults.mean && self.std == defaults.std {
            self.mean.clear();
            self.std.clear();
        }
        self.init = Some(InitSpec {
            from: from.into(),
            freeze_backbone: false,
        });
        self
    }

    /// The warm-up actually run: `warmup_epochs`, shortened to leave at least one epoch of decay
    /// when the run is not longer than its warm-up (`--epochs 1` or `2` with the default 3).
    pub fn effective_warmup_epochs(&self) -> usize {
        self.warmup_epochs.min(self.epochs.saturating_sub(1))
    }

    /// Refuses a run whose weights, gradients, AdamW state and one batch's activations
    /// (estimated from the config) would not fit in the free memory, naming the field to change.
    fn check_memory(&self, model: &ZooConfig) -> Result<()> {
        use vit_core::memory::{available_bytes, human};
        let Some(free) = available_bytes() else {
            return Ok(());
        };
        // f32 weights, gradients and AdamW's two moments.
        let state = model.param_estimate().saturating_mul(16);
        let activations = model
            .activation_estimate()
            .saturating_mul(4)
            .saturating_mul(self.batch_size as u64);
        let needed = state.saturating_add(activations);
        if needed <= free {
            return Ok(());
        }
        let field = if activations > state {
            "batch_size"
        } else {
            "model (depth / embed_dim)"
        };
        Err(TrainError::Config(format!(
            "{field}: training this model needs ~{} ({} for weights, gradients and optimiser \
             state, {} for a batch of {} images' activations), more than the {} of memory free \
             here",
            human(needed),
            human(state),
            human(activations),
            self.batch_size,
            human(free)
        )))
    }

    /// Checks what serde cannot: sizes, rates, and that the parts fit together.
    /// (The device count is checked against the machine when the devices are taken.)
    /// `model` is the architecture actually trained (from `model` or `init`).
    pub fn validate(&self, model: &ZooConfig) -> Result<()> {
        model.validate()?;
        let [c, _, _] = model.input_size();
        if self.batch_size == 0 || self.epochs == 0 || self.devices == 0 {
            return Err(TrainError::Config(
                "batch_size, epochs and devices must be at least 1".into(),
            ));
        }
        // Each device and each loader worker is a thread (with its buffers): a mistyped count
        // is refused here rather than failing to spawn thousands of them.
        for (field, value) in [("devices", self.devices), ("num_workers", self.num_workers)] {
            if value > MAX_THREADS_FIELD {
                return Err(TrainError::Config(format!(
                    "{field} is {value}; at most {MAX_THREADS_FIELD}"
                )));
            }
        }
        self.check_memory(model)?;
        self.loss_scale.validate().map_err(TrainError::Config)?;
        if self.keep_checkpoints == 0 {
            return Err(TrainError::Config(
                "keep_checkpoints must be at least 1 (the last epoch is what --resume needs)"
                    .into(),
            ));
        }
        if self.batch_size > 1 << 16 {
            return Err(TrainError::Config(format!(
                "batch_size {} is too large (at most 65536)",
                self.batch_size
            )));
        }
        let from_checkpoint = self.init.is_some() && self.mean.is_empty() && self.std.is_empty();
        if !from_checkpoint && (self.mean.len() != c || self.std.len() != c) {
            return Err(TrainError::Config(format!(
                "mean and std need {c} values (one per input channel), got {} and {}",
                self.mean.len(),
                self.std.len()
            )));
        }
        if self.mean.iter().any(|m| !m.is_finite())
            || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(TrainError::Config(format!(
                "mean must be finite and std finite and > 0, got {:?} and {:?}",
                self.mean, self.std
            )));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::Config(format!(
                "weight_decay must be finite and >= 0, got {}",
                self.weight_decay
            )));
        }
        // Non-finite values would train to NaN and exit as if it were a result; an lr above 1
        // diverges with AdamW on any model here (1e6 gave NaN in the first step).
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= MAX_LR) {
            return Err(TrainError::Config(format!(
                "lr must be a finite number in (0, {MAX_LR}], got {}",
                self.lr
            )));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0 && self.min_lr <= self.lr) {
            return Err(TrainError::Config(format!(
                "min_lr must be finite and in [0, lr = {}], got {}",
                self.lr, self.min_lr
            )));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(TrainError::Config(format!(
                "label_smoothing must be in [0, 1), got {}",
                self.label_smoothing
            )));
        }
        if let Some(clip) = self.grad_clip
            && !(clip.is_finite() && clip > 0.0)
        {
            return Err(TrainError::Config(format!(
                "grad_clip must be a finite number > 0 (or null for none), got {clip}"
            )));
        }
        if let Some(rate) = self.drop_path_rate
            && !(0.0..1.0).contains(&rate)
        {
            return Err(TrainError::Config(format!(
                "drop_path_rate must be in [0, 1), got {rate}"
            )));
        }
        self.data.validate(c)?;
        let augment = &self.augment;
        if let Some(a) = &augment.random_resized_crop {
            a.validate()?;
        }
        if let Some(a) = &augment.rand_augment {
            a.validate()?;
        }
        if let Some(a) = &augment.random_erasing {
            a.validate()?;
        }
        if let Some(a) = &augment.mixup {
            a.validate()?;
        }
        if let Some(d) = &self.distillation {
            d.loss().validate()?;
            if d.kind == DistillationKind::None {
                return Err(TrainError::Config(
                    "distillation.kind `none` uses no teacher: leave `distillation` out instead"
                        .into(),
                ));
            }
            let distilled = matches!(model, ZooConfig::Vit(vit) if vit.distilled);
            if !distilled {
                return Err(TrainError::Config(format!(
                    "distillation.kind `{:?}` needs a distilled student (model family `deit`: a \
                     ViT with `distilled: true`), the model is a `{}`",
                    d.kind,
                    model.family()
                )));
            }
        }
        Ok(())
    }
}

/// Where a run writes: the model folder, the logs, the plot, the checkpoints.
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
    /// Per-epoch metrics (CSV).
    pub fn log(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }
    /// Per-epoch metrics (JSON; also what `--resume` reads back).
    pub fn history(&self) -> PathBuf {
        self.dir.join("metrics.json")
    }
    /// Loss and accuracy curves.
    pub fn plot(&self) -> PathBuf {
        self.dir.join("curves.png")
    }
    /// burn-train's folder: its metric logs, and the checkpoints in [`Self::checkpoints`].
    pub fn learner(&self) -> PathBuf {
        self.dir.join("learner")
    }
    /// The checkpoints (`model-N`, `optim-N`, `scheduler-N` per epoch), where burn-train puts
    /// them under [`Self::learner`].
    pub fn checkpoints(&self) -> PathBuf {
        self.learner().join("checkpoint")
    }
    /// The effective config of the run (what `--resume` continues).
    pub fn config(&self) -> PathBuf {
        self.dir.join("train_config.json")
    }
}
