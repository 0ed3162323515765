//! What a model's weights expect of their input (timm's `pretrained_cfg`), and the evaluation
//! transform it stands for.

use serde::{Deserialize, Serialize};
use serde_json::Map;
use serde_json::Value;

use crate::preprocess::{EvalTransform, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD};

/// How a model expects its input preprocessed (timm's `pretrained_cfg`); it travels with the
/// model from the folder into our own saved format. Fields not modelled here are kept verbatim.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PretrainedCfg {
    /// `[channels, height, width]` the weights were trained at.
    #[serde(default = "default_input_size")]
    pub input_size: [usize; 3],
    /// Resize interpolation: `bicubic`, `bilinear`, `nearest`.
    #[serde(default = "default_interpolation")]
    pub interpolation: String,
    /// Fraction of the resized image the center crop keeps.
    #[serde(default = "default_crop_pct")]
    pub crop_pct: f64,
    /// `center` (or timm's other crop modes).
    #[serde(default = "default_crop_mode")]
    pub crop_mode: String,
    /// Per-channel mean subtracted after scaling to [0, 1].
    #[serde(default = "default_mean_std")]
    pub mean: Vec<f64>,
    /// Per-channel standard deviation divided by after the mean.
    #[serde(default = "default_mean_std")]
    pub std: Vec<f64>,
    /// Every other field of the original (tag, license, classifier name, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_input_size() -> [usize; 3] {
    [3, 224, 224]
}
fn default_interpolation() -> String {
    "bicubic".into()
}
fn default_crop_pct() -> f64 {
    0.9
}
fn default_crop_mode() -> String {
    "center".into()
}
fn default_mean_std() -> Vec<f64> {
    vec![0.5, 0.5, 0.5]
}

impl PretrainedCfg {
    /// timm's default for ViTs (`_cfg` in `vision_transformer.py`): bicubic, crop 0.9,
    /// mean = std = 0.5, at the given input size.
    pub fn vit_default(in_chans: usize, img_size: [usize; 2]) -> Self {
        Self {
            input_size: [in_chans, img_size[0], img_size[1]],
            interpolation: default_interpolation(),
            crop_pct: default_crop_pct(),
            crop_mode: default_crop_mode(),
            mean: vec![0.5; in_chans],
            std: vec![0.5; in_chans],
            extra: Map::new(),
        }
    }
}

impl PretrainedCfg {
    /// timm's default for DeiT and Swin: [`Self::vit_default`] with ImageNet's mean and std
    /// (for RGB inputs).
    pub fn imagenet_default(in_chans: usize, img_size: [usize; 2]) -> Self {
        let mut cfg = Self::vit_default(in_chans, img_size);
        if in_chans == 3 {
            cfg.mean = IMAGENET_DEFAULT_MEAN.to_vec();
            cfg.std = IMAGENET_DEFAULT_STD.to_vec();
        }
        cfg
    }

    /// The evaluation transform these settings describe, at the input size `[height, width]`
    /// (the model's, which may differ from the size the weights were trained at); a one-value
    /// mean or std (grey-scale models) applies to all three RGB channels.
    pub fn eval_transform(&self, input_size: [usize; 2]) -> EvalTransform {
        let per_rgb = |values: &[f64]| -> Vec<f64> {
            match values {
                [v] => vec![*v; 3],
                _ => values.to_vec(),
            }
        };
        EvalTransform {
            input_size,
            crop_pct: self.crop_pct,
            crop_mode: self.crop_mode.clone(),
            interpolation: self.interpolation.clone(),
            mean: per_rgb(&self.mean),
            std: per_rgb(&self.std),
        }
    }
}
