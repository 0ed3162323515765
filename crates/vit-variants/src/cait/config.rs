//! The configuration of timm's `Cait` (Touvron et al. 2021, "Going deeper with Image
//! Transformers"): timm's own argument names and defaults.

use burn::config::Config;
use serde_json::Value;
use vit_core::error::{Result, VitError};
use vit_core::layers::activation::Activation;
use vit_core::layers::norm::NormKind;
use vit_core::layers::patch_embed::patch_grid;
use vit_core::layers::pooling::GlobalPool;
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;

/// The family name CaiT models carry in a saved model card.
pub const CAIT_FAMILY: &str = "cait";

/// Configuration of a [`Cait`](crate::cait::Cait), with timm's argument names and defaults
/// (`cait.py`). `architecture` is timm's entrypoint name, kept for exporting back to timm.
#[derive(Config, Debug, PartialEq)]
pub struct CaitConfig {
    /// timm's architecture name this config was built from (e.g. `cait_s24_224`).
    #[config(default = "String::new()")]
    pub architecture: String,
    /// Input image size `[height, width]`.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side in pixels.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Classifier outputs (0: none).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Pooling: `token` (the class token) or `avg` (over the patches).
    #[config(default = "GlobalPool::Token")]
    pub global_pool: GlobalPool,
    /// Token dimension.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Self-attention blocks (talking heads) over the patches.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads (both kinds of block).
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden width over `embed_dim` in the self-attention blocks.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the q/k/v projections.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the position embedding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Dropout after the projections (self-attention blocks).
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on the attention weights (self-attention blocks).
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of every self-attention block (CaiT's is constant, not a ramp).
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// The norm of every norm layer.
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// Its epsilon (timm: `LayerNorm(eps=1e-6)`).
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// The MLPs' activation.
    #[config(default = "Activation::Gelu")]
    pub act_layer: Activation,
    /// LayerScale initial value of every block (`gamma_1`, `gamma_2`).
    #[config(default = 1e-4)]
    pub init_values: f64,
    /// Class-attention blocks after the self-attention blocks.
    #[config(default = 2)]
    pub depth_token_only: usize,
    /// MLP hidden width over `embed_dim` in the class-attention blocks.
    #[config(default = 4.0)]
    pub mlp_ratio_token_only: f64,
    /// Any input size of whole patches (the position embedding resampled to its grid).
    #[config(default = false)]
    pub dynamic_img_size: bool,
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl CaitConfig {
    /// Checks every field the model cannot be built with, naming the field.
    pub fn validate(&self) -> Result<()> {
        use vit_core::limits::{
            MAX_CHANNELS, MAX_CLASSES, MAX_DEPTH, MAX_SIDE, MAX_WIDTH, check_bounds,
            check_mlp_ratio,
        };
        check_bounds(&[
            ("img_size", self.img_size[0].max(self.img_size[1]), MAX_SIDE),
            ("in_chans", self.in_chans, MAX_CHANNELS),
            ("embed_dim", self.embed_dim, MAX_WIDTH),
            (
                "depth",
                self.depth.saturating_add(self.depth_token_only),
                MAX_DEPTH,
            ),
            ("num_classes", self.num_classes, MAX_CLASSES),
        ])?;
        check_mlp_ratio(self.embed_dim, self.mlp_ratio)?;
        check_mlp_ratio(self.embed_dim, self.mlp_ratio_token_only)?;
        patch_grid(self.img_size, self.patch_size)?;
        if self.embed_dim == 0 || self.in_chans == 0 {
            return Err(invalid(
                "embed_dim",
                "embed_dim and in_chans must be at least 1",
            ));
        }
        if self.num_heads == 0 || !self.embed_dim.is_multiple_of(self.num_heads) {
            return Err(invalid(
                "num_heads",
                format!(
                    "embed_dim {} is not a multiple of {} heads",
                    self.embed_dim, self.num_heads
                ),
            ));
        }
        if !matches!(self.global_pool, GlobalPool::Token | GlobalPool::Avg) {
            return Err(invalid(
                "global_pool",
                format!(
                    "{:?} is not one of CaiT's poolings (token, avg)",
                    self.global_pool
                ),
            ));
        }
        if self.global_pool == GlobalPool::Token && self.depth_token_only == 0 {
            return Err(invalid(
                "depth_token_only",
                "token pooling needs at least one class-attention block (the class token)",
            ));
        }
        if !self.init_values.is_finite() {
            return Err(invalid("init_values", "must be finite"));
        }
        for (field, rate) in [
            ("drop_rate", self.drop_rate),
            ("pos_drop_rate", self.pos_drop_rate),
            ("proj_drop_rate", self.proj_drop_rate),
            ("attn_drop_rate", self.attn_drop_rate),
            ("drop_path_rate", self.drop_path_rate),
        ] {
            if !(0.0..1.0).contains(&rate) {
                return Err(invalid(field, format!("must be in [0, 1), got {rate}")));
            }
        }
        Ok(())
    }

    /// The patch grid of `img_size`.
    pub fn grid(&self) -> [usize; 2] {
        patch_grid(self.img_size, self.patch_size).unwrap_or([0, 0])
    }

    fn hidden(&self, ratio: f64) -> u64 {
        (self.embed_dim as f64 * ratio) as u64
    }
}

impl ModelConfig for CaitConfig {
    fn family(&self) -> &'static str {
        CAIT_FAMILY
    }

    fn validate(&self) -> Result<()> {
        CaitConfig::validate(self)
    }

    vit_core::timm_config_fields!();

    /// Patch projection; per self-attention block qkv, scores, the two head mixings, values,
    /// projection and MLP; per class-attention block the class token's query, every token's key
    /// and value, its scores, projection and MLP; head.
    fn macs(&self) -> u64 {
        let [gh, gw] = self.grid();
        let n = (gh * gw) as u64;
        let d = self.embed_dim as u64;
        let h = self.num_heads as u64;
        let p = self.patch_size as u64;
        let patch = n * self.in_chans as u64 * p * p * d;
        let block = n * 3 * d * d
            + 2 * n * n * d
            + 2 * n * n * h * h
            + n * d * d
            + 2 * n * d * self.hidden(self.mlp_ratio);
        let tokens = n + 1;
        let class_block = d * d
            + 2 * tokens * d * d
            + 2 * tokens * d
            + d * d
            + 2 * d * self.hidden(self.mlp_ratio_token_only);
        patch
            + self.depth as u64 * block
            + self.depth_token_only as u64 * class_block
            + d * self.num_classes as u64
    }

    /// Learnable parameters as timm counts them.
    fn param_estimate(&self) -> u64 {
        let [gh, gw] = self.grid();
        let d = self.embed_dim as u64;
        let h = self.num_heads as u64;
        let p = self.patch_size as u64;
        let bias = u64::from(self.qkv_bias);
        let norm = match self.norm_layer {
            NormKind::LayerNorm => 2 * d,
            NormKind::RmsNorm => d,
        };
        let mlp = |hidden: u64| 2 * d * hidden + hidden + d;
        let block = 2 * norm
            + 3 * d * d
            + 3 * d * bias
            + d * d
            + d
            + 2 * (h * h + h)
            + mlp(self.hidden(self.mlp_ratio))
            + 2 * d;
        let class_block = 2 * norm
            + 3 * (d * d + d * bias)
            + d * d
            + d
            + mlp(self.hidden(self.mlp_ratio_token_only))
            + 2 * d;
        let classes = self.num_classes as u64;
        self.in_chans as u64 * p * p * d
            + d
            + d
            + (gh * gw) as u64 * d
            + self.depth as u64 * block
            + self.depth_token_only as u64 * class_block
            + norm
            + if classes > 0 {
                d * classes + classes
            } else {
                0
            }
    }

    /// Floats one image keeps for the backward pass, an estimate: per block the tokens' inputs
    /// and the three score maps (talking heads materialise them).
    fn activation_estimate(&self) -> u64 {
        let [gh, gw] = self.grid();
        let n = (gh * gw) as u64;
        let d = self.embed_dim as u64;
        let h = self.num_heads as u64;
        self.depth as u64 * (n * (10 * d + 3 * self.hidden(self.mlp_ratio)) + 3 * h * n * n)
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        // timm's `_cfg` for CaiT: ImageNet mean and std, bicubic, crop 1.0.
        let mut cfg = PretrainedCfg::imagenet_default(self.in_chans, self.img_size);
        cfg.crop_pct = 1.0;
        cfg
    }

    fn card_config(&self) -> Value {
        serde_json::to_value(self).expect("configs serialise")
    }
}
