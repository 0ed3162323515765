//! The configuration of timm's NaFlexViT (`NaFlexVitCfg`, SigLIP2 NaFlex, C-RADIO v3/v4) at
//! fixed resolution: timm's field names and defaults, translated to the ViT it builds for image
//! batches.

use burn::config::Config;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::layers::activation::Activation;
use vit_core::layers::norm::NormKind;
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::pos_embed::PosEmbedKind;
use vit_core::layers::resample::{InterpMode, PosEmbedResample};
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_core::{VisionTransformer, VisionTransformerConfig};

/// The family name NaFlexViT models carry in a saved model card.
pub const NAFLEX_FAMILY: &str = "naflexvit";

/// NaFlexViT's position embedding (`pos_embed`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NaflexPosEmbed {
    /// A learned `[1, rows, cols, dim]` grid.
    #[default]
    Learned,
    /// Learned row and column tables, summed.
    Factorized,
    /// None.
    None,
}

/// Configuration of a timm NaFlexViT with timm's field names and defaults (`NaFlexVitCfg`, plus
/// the model's `img_size`, `in_chans`, `num_classes`); the options the pretrained models use.
/// Built as a [`VisionTransformer`] ([`Self::vit`]) that takes any image size of whole patches.
#[derive(Config, Debug, PartialEq)]
pub struct NaflexConfig {
    /// timm's architecture name this config was built from.
    #[config(default = "String::new()")]
    pub architecture: String,
    /// The image size the model is set up for `[height, width]` (any size of whole patches runs).
    #[config(default = "[384, 384]")]
    pub img_size: [usize; 2],
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Classifier outputs (0: none).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Patch side.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Token dimension.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// Heads.
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden width over `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// A norm on the MLP's hidden activation.
    #[config(default = false)]
    pub scale_mlp_norm: bool,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Norms on each head's queries and keys.
    #[config(default = false)]
    pub qk_norm: bool,
    /// Bias on the output projections.
    #[config(default = true)]
    pub proj_bias: bool,
    /// A norm on the attention's merged heads.
    #[config(default = false)]
    pub scale_attn_inner_norm: bool,
    /// LayerScale initial value; `None`: none.
    #[config(default = "None")]
    pub init_values: Option<f64>,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the position embedding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Dropout after the projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of the last block.
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// A class token.
    #[config(default = false)]
    pub class_token: bool,
    /// Register tokens.
    #[config(default = 0)]
    pub reg_tokens: usize,
    /// `learned`, `factorized` or `none`.
    #[config(default = "NaflexPosEmbed::Learned")]
    pub pos_embed: NaflexPosEmbed,
    /// The grid the position table is stored at; `None`: the image's patch grid.
    #[config(default = "Some([16, 16])")]
    pub pos_embed_grid_size: Option<[usize; 2]>,
    /// `bicubic` or `bilinear`.
    #[config(default = "InterpMode::Bicubic")]
    pub pos_embed_interp_mode: InterpMode,
    /// Resample to a square of the longer side, then crop.
    #[config(default = false)]
    pub pos_embed_ar_preserving: bool,
    /// Antialias when shrinking the table.
    #[config(default = true)]
    pub pos_embed_antialias: bool,
    /// PyTorch's `align_corners` for the resampling.
    #[config(default = false)]
    pub pos_embed_align_corners: bool,
    /// A norm before the blocks (and no patch-projection bias).
    #[config(default = false)]
    pub pre_norm: bool,
    /// The final norm (or `fc_norm`).
    #[config(default = true)]
    pub final_norm: bool,
    /// Norm after pooling instead of before; `None`: with average pooling.
    #[config(default = "None")]
    pub fc_norm: Option<bool>,
    /// `token`, `avg`, `max` or `map`.
    #[config(default = "GlobalPool::Map")]
    pub global_pool: GlobalPool,
    /// Pool over the prefix tokens too.
    #[config(default = false)]
    pub pool_include_prefix: bool,
    /// Heads of the attention pool; `None`: `num_heads`.
    #[config(default = "None")]
    pub attn_pool_num_heads: Option<usize>,
    /// MLP ratio of the attention pool; `None`: `mlp_ratio`.
    #[config(default = "None")]
    pub attn_pool_mlp_ratio: Option<f64>,
    /// LayerNorm or RMSNorm, every norm.
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// Its epsilon.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// The MLP's activation.
    #[config(default = "Activation::Gelu")]
    pub act_layer: Activation,
    /// Pad inputs to whole patches.
    #[config(default = false)]
    pub dynamic_img_pad: bool,
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl NaflexConfig {
    /// The ViT this config builds: position embeddings on the patches only, stored at their own
    /// grid and resampled to every input's, any input size of whole patches.
    pub fn vit(&self) -> Result<VisionTransformerConfig> {
        let pos_embed = match self.pos_embed {
            NaflexPosEmbed::Learned => PosEmbedKind::Learn,
            NaflexPosEmbed::Factorized => PosEmbedKind::Factorized,
            NaflexPosEmbed::None => PosEmbedKind::None,
        };
        if self.pos_embed_interp_mode == InterpMode::Bicubic && !self.pos_embed_antialias {
            return Err(invalid(
                "pos_embed_antialias",
                "bicubic resampling without antialiasing is not supported",
            ));
        }
        let config = VisionTransformerConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_num_classes(self.num_classes)
            .with_embed_dim(self.embed_dim)
            .with_depth(self.depth)
            .with_num_heads(self.num_heads)
            .with_mlp_ratio(self.mlp_ratio)
            .with_qkv_bias(self.qkv_bias)
            .with_qk_norm(self.qk_norm)
            .with_proj_bias(self.proj_bias)
            .with_scale_attn_norm(self.scale_attn_inner_norm)
            .with_scale_mlp_norm(self.scale_mlp_norm)
            .with_init_values(self.init_values)
            .with_class_token(self.class_token)
            .with_reg_tokens(self.reg_tokens)
            .with_pos_embed(pos_embed)
            // NaFlexViT's position embedding never covers the prefix tokens.
            .with_no_embed_class(true)
            .with_pos_embed_grid_size(self.pos_embed_grid_size)
            .with_pos_embed_resample(PosEmbedResample {
                mode: self.pos_embed_interp_mode,
                antialias: self.pos_embed_antialias,
                align_corners: self.pos_embed_align_corners,
                ar_preserving: self.pos_embed_ar_preserving,
            })
            .with_pre_norm(self.pre_norm)
            .with_patch_bias(!self.pre_norm)
            .with_final_norm(self.final_norm)
            .with_fc_norm(Some(
                self.fc_norm.unwrap_or(self.global_pool == GlobalPool::Avg),
            ))
            .with_global_pool(self.global_pool)
            .with_pool_include_prefix(self.pool_include_prefix)
            .with_attn_pool_num_heads(self.attn_pool_num_heads)
            .with_attn_pool_mlp_ratio(self.attn_pool_mlp_ratio)
            .with_norm_layer(self.norm_layer)
            .with_norm_eps(self.norm_eps)
            .with_act_layer(self.act_layer)
            .with_drop_rate(self.drop_rate)
            .with_pos_drop_rate(self.pos_drop_rate)
            .with_proj_drop_rate(self.proj_drop_rate)
            .with_attn_drop_rate(self.attn_drop_rate)
            .with_drop_path_rate(self.drop_path_rate)
            .with_dynamic_img_size(true)
            .with_dynamic_img_pad(self.dynamic_img_pad);
        config.validate()?;
        Ok(config)
    }

    /// Builds the model.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.vit()?.try_init(device)
    }
}

impl ModelConfig for NaflexConfig {
    crate::timm_family::vit_built_model_config!(NAFLEX_FAMILY);

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        PretrainedCfg::vit_default(self.in_chans, self.img_size)
    }
}
