//! The configuration of timm's `Xcit` (El-Nouby et al. 2021, "XCiT: Cross-Covariance Image
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

/// The family name XCiT models carry in a saved model card.
pub const XCIT_FAMILY: &str = "xcit";

/// Channels of XCiT's Fourier position features (timm's `PositionalEncodingFourier.hidden_dim`,
/// 32 per axis).
pub const FOURIER_CHANNELS: usize = 64;

/// Configuration of an [`Xcit`](crate::xcit::Xcit), with timm's argument names and defaults
/// (`xcit.py`). `architecture` is timm's entrypoint name, kept for exporting back to timm.
#[derive(Config, Debug, PartialEq)]
pub struct XcitConfig {
    /// timm's architecture name this config was built from (e.g. `xcit_small_12_p16_224`).
    #[config(default = "String::new()")]
    pub architecture: String,
    /// Input image size `[height, width]`.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side in pixels: 16 (four stride-2 convolutions) or 8 (three).
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
    /// Cross-covariance blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads (both kinds of block).
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden width over `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the q/k/v projections.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the position encoding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Dropout after the projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of every cross-covariance block (constant, not a ramp).
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// The norm of every norm layer (the convolutions' BatchNorms are fixed).
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// Its epsilon (timm: `LayerNorm(eps=1e-6)`).
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// The activation of the MLPs, the patch embedding and the local patch interaction.
    #[config(default = "Activation::Gelu")]
    pub act_layer: Activation,
    /// Class-attention blocks after the cross-covariance blocks.
    #[config(default = 2)]
    pub cls_attn_layers: usize,
    /// The Fourier position encoding.
    #[config(default = true)]
    pub use_pos_embed: bool,
    /// LayerScale initial value (`gamma1`, `gamma2`, `gamma3`).
    #[config(default = 1.0)]
    pub eta: f64,
    /// The class-attention blocks norm every token before their MLP (not only the class token).
    #[config(default = false)]
    pub tokens_norm: bool,
    /// Any input size of whole patches (the position encoding follows the grid).
    #[config(default = false)]
    pub dynamic_img_size: bool,
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl XcitConfig {
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
                self.depth.saturating_add(self.cls_attn_layers),
                MAX_DEPTH,
            ),
            ("num_classes", self.num_classes, MAX_CLASSES),
        ])?;
        check_mlp_ratio(self.embed_dim, self.mlp_ratio)?;
        if !matches!(self.patch_size, 8 | 16) {
            return Err(invalid(
                "patch_size",
                format!(
                    "XCiT's convolutional patch embedding has patch 8 or 16, got {}",
                    self.patch_size
                ),
            ));
        }
        patch_grid(self.img_size, self.patch_size)?;
        if self.in_chans == 0 || !self.embed_dim.is_multiple_of(8) || self.embed_dim == 0 {
            return Err(invalid(
                "embed_dim",
                format!(
                    "the patch embedding's convolutions need a positive multiple of 8, got {}",
                    self.embed_dim
                ),
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
                    "{:?} is not one of XCiT's poolings (token, avg)",
                    self.global_pool
                ),
            ));
        }
        if self.global_pool == GlobalPool::Token && self.cls_attn_layers == 0 {
            return Err(invalid(
                "cls_attn_layers",
                "token pooling needs at least one class-attention block (the class token)",
            ));
        }
        if !self.eta.is_finite() {
            return Err(invalid("eta", "must be finite"));
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

    /// The channels of the patch embedding's convolutions, first to last.
    pub fn embed_channels(&self) -> Vec<usize> {
        let d = self.embed_dim;
        match self.patch_size {
            8 => vec![d / 4, d / 2, d],
            _ => vec![d / 8, d / 4, d / 2, d],
        }
    }

    fn hidden(&self) -> u64 {
        (self.embed_dim as f64 * self.mlp_ratio) as u64
    }
}

impl ModelConfig for XcitConfig {
    fn family(&self) -> &'static str {
        XCIT_FAMILY
    }

    fn validate(&self) -> Result<()> {
        XcitConfig::validate(self)
    }

    vit_core::timm_config_fields!();

    /// The patch convolutions; per cross-covariance block qkv, the `d/h × d/h` covariance and
    /// its product with the values, projection, the two depthwise convolutions and the MLP; per
    /// class-attention block the class token's query and attention, every token's key and
    /// value, projection and MLP; head.
    fn macs(&self) -> u64 {
        let [gh, gw] = self.grid();
        let n = (gh * gw) as u64;
        let d = self.embed_dim as u64;
        let head_dim = d / self.num_heads.max(1) as u64;
        let mut embed = 0;
        let mut cin = self.in_chans as u64;
        let stages = self.embed_channels();
        for (i, &cout) in stages.iter().enumerate() {
            let stride = 1u64 << (stages.len() - 1 - i);
            embed += n * stride * stride * cin * cout as u64 * 9;
            cin = cout as u64;
        }
        let block = n * 3 * d * d
            + 2 * n * d * head_dim
            + n * d * d
            + 2 * n * d * 9
            + 2 * n * d * self.hidden();
        let tokens = n + 1;
        let class_block =
            d * d + 2 * tokens * d * d + 2 * tokens * d + d * d + 2 * d * self.hidden();
        embed
            + self.depth as u64 * block
            + self.cls_attn_layers as u64 * class_block
            + d * self.num_classes as u64
    }

    /// Learnable parameters as timm counts them (the BatchNorms' running statistics are not).
    fn param_estimate(&self) -> u64 {
        let d = self.embed_dim as u64;
        let h = self.num_heads as u64;
        let bias = u64::from(self.qkv_bias);
        let norm = match self.norm_layer {
            NormKind::LayerNorm => 2 * d,
            NormKind::RmsNorm => d,
        };
        let mut embed = 0;
        let mut cin = self.in_chans as u64;
        for &cout in &self.embed_channels() {
            embed += cin * cout as u64 * 9 + 2 * cout as u64;
            cin = cout as u64;
        }
        let pos = if self.use_pos_embed {
            FOURIER_CHANNELS as u64 * d + d
        } else {
            0
        };
        let mlp = 2 * d * self.hidden() + self.hidden() + d;
        let lpi = 2 * (9 * d + d) + 2 * d;
        let block = 3 * norm + h + 3 * d * d + 3 * d * bias + d * d + d + lpi + mlp + 3 * d;
        let class_block = 2 * norm + 3 * (d * d + d * bias) + d * d + d + mlp + 2 * d;
        let classes = self.num_classes as u64;
        embed
            + d
            + pos
            + self.depth as u64 * block
            + self.cls_attn_layers as u64 * class_block
            + norm
            + if classes > 0 {
                d * classes + classes
            } else {
                0
            }
    }

    /// Floats one image keeps for the backward pass, an estimate.
    fn activation_estimate(&self) -> u64 {
        let [gh, gw] = self.grid();
        let n = (gh * gw) as u64;
        let d = self.embed_dim as u64;
        self.depth as u64 * n * (14 * d + 3 * self.hidden())
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        // timm's `_cfg` for XCiT: ImageNet mean and std, bicubic, crop 1.0.
        let mut cfg = PretrainedCfg::imagenet_default(self.in_chans, self.img_size);
        cfg.crop_pct = 1.0;
        cfg
    }

    fn card_config(&self) -> Value {
        serde_json::to_value(self).expect("configs serialise")
    }
}
