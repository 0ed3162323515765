//! The configuration of a [`VisionTransformer`], its validation and its construction with timm's
//! initialisation.

use burn::config::Config;
use burn::nn::DropoutConfig;
use burn::tensor::{Distribution, Tensor};
use serde_json::Value;
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
use crate::layers::activation::Activation;
use crate::layers::block::{AttnLayer, BlockConfig, BlockKind};
use crate::layers::drop_path::drop_path_schedule;
use crate::layers::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use crate::layers::mlp::{MlpKind, mlp_hidden};
use crate::layers::norm::NormKind;
use crate::layers::patch_embed::{PatchEmbedConfig, PatchEmbedKind};
use crate::layers::pooling::{AttentionPoolConfig, GlobalPool};
use crate::layers::pos_embed::{PosEmbedKind, sincos_2d};
use crate::layers::rel_pos::{RelPosConfig, RelPosKind};
use crate::layers::resample::{InterpMode, PosEmbedResample};
use crate::layers::rope::{RopeConfig, RopeKind};
use crate::layers::stems::HybridBackboneConfig;
use crate::limits::{
    MAX_CHANNELS, MAX_CLASSES, MAX_DEPTH, MAX_SIDE, MAX_TOKENS, MAX_WIDTH, check_bounds,
    check_mlp_ratio,
};
use crate::model::ModelConfig;
use crate::preprocess::PretrainedCfg;
use crate::vit::import::{DEIT_FAMILY, VIT_FAMILY};
use crate::vit::model::VisionTransformer;

/// Configuration of a [`VisionTransformer`]; field names and defaults follow timm's
/// `VisionTransformer` (defaults: ViT-B/16 at 224, 1000 classes).
#[derive(Config, Debug, PartialEq)]
pub struct VisionTransformerConfig {
    /// Input image size `[height, width]` in pixels.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side length in pixels.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Classifier outputs; 0 means no head (the model returns pooled features).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Token dimension.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Number of transformer blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads per block.
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden size as a multiple of `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the qkv projections.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// LayerScale initial value; `None` disables LayerScale.
    #[config(default = "None")]
    pub init_values: Option<f64>,
    /// Prepend a learned class token.
    #[config(default = true)]
    pub class_token: bool,
    /// DeiT's distillation: a second learned prefix token after the class token whose output
    /// feeds a second head, `head_dist` (timm's `VisionTransformerDistilled`); inference returns
    /// the mean of both heads. Needs `class_token` and `token` pooling.
    #[config(default = false)]
    pub distilled: bool,
    /// Learned register tokens after the class token (Darcet et al. 2024: DINOv2-reg, SigLIP2
    /// and timm's `*_reg*` models); prefix tokens, left out of patch pooling and maps.
    #[config(default = 0)]
    pub reg_tokens: usize,
    /// Position embedding: `learn`, `sincos` or `none`.
    #[config(default = "PosEmbedKind::Learn")]
    pub pos_embed: PosEmbedKind,
    /// When true the position embedding covers only the patches, not the class token.
    #[config(default = false)]
    pub no_embed_class: bool,
    /// Pooling: `token`, `avg`, `max` or `map`.
    #[config(default = "GlobalPool::Token")]
    pub global_pool: GlobalPool,
    /// Norm after pooling instead of before it; `None` = timm's default (on for avg/max).
    #[config(default = "None")]
    pub fc_norm: Option<bool>,
    /// Norm before the blocks (CLIP-style).
    #[config(default = false)]
    pub pre_norm: bool,
    /// The final norm (or `fc_norm`); off for models whose features leave the last block as
    /// they are (RADIO, InternViT; timm's `final_norm`).
    #[config(default = true)]
    pub final_norm: bool,
    /// Which norm every norm of the model is: `layernorm` or `rmsnorm` (timm's `norm_layer`).
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// A norm on the patch tokens right after the projection (timm's `embed_norm_layer`:
    /// AIMv2's RMSNorm); `None` for none.
    #[config(default = "None")]
    pub embed_norm_layer: Option<NormKind>,
    /// The MLP's activation (the attention pool's MLP too): `gelu`, `gelu_tanh`, `quick_gelu` or
    /// `silu` (timm's `act_layer`).
    #[config(default = "Activation::Gelu")]
    pub act_layer: Activation,
    /// Bias on the attention output projection and the MLP projections (timm's `proj_bias`).
    #[config(default = true)]
    pub proj_bias: bool,
    /// A norm on the attention's merged heads before its output projection (BEiT-3; timm's
    /// `scale_attn_norm`).
    #[config(default = false)]
    pub scale_attn_norm: bool,
    /// A norm on the MLP's hidden activation before `fc2` (BEiT-3; timm's `scale_mlp_norm`).
    #[config(default = false)]
    pub scale_mlp_norm: bool,
    /// Pre-norm blocks (`block`), post-norm ones (`res_post_block`) or parallel ones
    /// (`parallel_scaling_block`, `diff_parallel_scaling_block`; timm's `block_fn`).
    #[config(default = "BlockKind::Block")]
    pub block_fn: BlockKind,
    /// The blocks' attention: `attention` or differential `diff` (timm's `attn_layer`).
    #[config(default = "AttnLayer::Attention")]
    pub attn_layer: AttnLayer,
    /// Pool over the prefix tokens too (avg/max/map; timm's `pool_include_prefix`).
    #[config(default = false)]
    pub pool_include_prefix: bool,
    /// A CNN stem before the patch projection (timm's hybrids: R50+ViT, R26+ViT, the ResNet
    /// stem alone, ConvStem); `None` for a plain ViT. The patches are cut from its feature map.
    #[config(default = "None")]
    pub backbone: Option<HybridBackboneConfig>,
    /// Whether the patch (or stem-feature) projection exists (timm's `embed_args.proj`; off only
    /// for a stem whose channels are `embed_dim`).
    #[config(default = true)]
    pub embed_proj: bool,
    /// Patch projection as a conv or as a linear layer on flattened patches.
    #[config(default = "PatchEmbedKind::Conv")]
    pub patch_embed: PatchEmbedKind,
    /// Bias on the patch projection.
    #[config(default = true)]
    pub patch_bias: bool,
    /// Feed-forward network of the blocks: `mlp`, `swiglu` or `swiglu_packed` (timm's
    /// `mlp_layer`: `Mlp`, `SwiGLU`, `SwiGLUPacked`).
    #[config(default = "MlpKind::Mlp")]
    pub mlp_kind: MlpKind,
    /// Norm epsilon (every norm of the model).
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// Dropout before the classifier head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after adding the position embedding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Dropout after the attention/MLP projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of the last block; rises linearly from 0 over the blocks.
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// Accept any image size that splits into whole patches, resampling the position embedding
    /// to the input's grid on the fly (timm's `dynamic_img_size`).
    #[config(default = false)]
    pub dynamic_img_size: bool,
    /// Pad images on the right and bottom to whole patches instead of refusing sizes that do not
    /// split into patches (timm's `dynamic_img_pad`; with `dynamic_img_size`, any size runs).
    #[config(default = false)]
    pub dynamic_img_pad: bool,
    /// Rotary position embeddings on the patch tokens' queries and keys in every block (timm's
    /// `Eva` with `use_rot_pos_emb`); `None` for none.
    #[config(default = "None")]
    pub rope: Option<RopeConfig>,
    /// Norms on each head's queries and keys before the scores (timm's `qk_norm`).
    #[config(default = false)]
    pub qk_norm: bool,
    /// timm `EvaAttention`'s bias layout: learned `q_bias` and `v_bias` beside a bias-free `qkv`,
    /// no key bias (with `qkv_bias`; keys `attn.q_bias`, `attn.v_bias`).
    #[config(default = false)]
    pub zero_k_bias: bool,
    /// Key/value heads of each block for grouped-query attention (timm Eva's `num_kv_heads`:
    /// Sapiens2), one entry per block, each dividing `num_heads`; `None`: `num_heads` everywhere.
    #[config(default = "None")]
    pub num_kv_heads: Option<Vec<usize>>,
    /// LayerScale on the attention branch only (timm Eva's `attn_only_layer_scale`: Sapiens2).
    #[config(default = false)]
    pub attn_only_layer_scale: bool,
    /// The MLP's hidden width rounded up to a multiple of this (timm Eva's `swiglu_align_to`);
    /// 0 keeps `embed_dim × mlp_ratio`.
    #[config(default = 0)]
    pub mlp_align_to: usize,
    /// Heads of the attention pool (`global_pool = map`; timm Eva's `attn_pool_num_heads`);
    /// `None`: `num_heads`.
    #[config(default = "None")]
    pub attn_pool_num_heads: Option<usize>,
    /// MLP ratio of the attention pool (timm Eva's `attn_pool_mlp_ratio`); `None`: `mlp_ratio`.
    #[config(default = "None")]
    pub attn_pool_mlp_ratio: Option<f64>,
    /// The grid `[rows, cols]` the learned (or factorised) position table is stored at, when it
    /// is not the image's patch grid (NaFlexViT's `pos_embed_grid_size`); every input grid
    /// resamples it. `None`: the patch grid of `img_size`.
    #[config(default = "None")]
    pub pos_embed_grid_size: Option<[usize; 2]>,
    /// How the position table is resampled to another grid (timm's ViT: bicubic, antialiased;
    /// NaFlexViT chooses).
    #[config(default = "PosEmbedResample::default()")]
    pub pos_embed_resample: PosEmbedResample,
    /// A relative position bias on the attention scores (BEiT's tables, ViT-relpos' MLP), in
    /// every block or shared by all; `None` for none.
    #[config(default = "None")]
    pub rel_pos: Option<RelPosConfig>,
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl VisionTransformerConfig {
    /// Checks every field the model cannot be built with, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check_sizes()?;
        let [gh, gw] = self.grid_size()?;
        let tokens = gh * gw + self.num_prefix_tokens();
        if tokens > MAX_TOKENS {
            return Err(invalid(
                "img_size",
                format!(
                    "{}x{} in patches of {} makes {tokens} tokens; at most {MAX_TOKENS}",
                    self.img_size[0], self.img_size[1], self.patch_size
                ),
            ));
        }
        if self.in_chans == 0 {
            return Err(invalid("in_chans", "must be at least 1"));
        }
        if self.embed_dim == 0
            || self.num_heads == 0
            || !self.embed_dim.is_multiple_of(self.num_heads)
        {
            return Err(invalid(
                "num_heads",
                format!(
                    "embed_dim {} must be a positive multiple of num_heads {}",
                    self.embed_dim, self.num_heads
                ),
            ));
        }
        let [ph, pw] = self.pos_grid()?;
        if ph * pw > MAX_TOKENS {
            return Err(invalid(
                "pos_embed_grid_size",
                format!("{ph}x{pw} positions; at most {MAX_TOKENS}"),
            ));
        }
        if self.pos_embed == PosEmbedKind::Sincos && !self.embed_dim.is_multiple_of(4) {
            return Err(invalid(
                "pos_embed",
                format!(
                    "sincos needs embed_dim divisible by 4, got {}",
                    self.embed_dim
                ),
            ));
        }
        if self.global_pool == GlobalPool::Token && !self.class_token {
            return Err(invalid(
                "global_pool",
                "`token` pooling needs `class_token = true`; use `avg`, `max` or `map`",
            ));
        }
        if self.block_fn.is_parallel()
            && (self.scale_attn_norm || self.scale_mlp_norm || self.mlp_kind != MlpKind::Mlp)
        {
            return Err(invalid(
                "block_fn",
                "timm's parallel blocks have their own MLP and no inner norms: needs mlp_kind \
                 `mlp` and scale_attn_norm/scale_mlp_norm off",
            ));
        }
        if (self.attn_layer == AttnLayer::Diff
            || self.block_fn == BlockKind::DiffParallelScalingBlock)
            && !(self.embed_dim / self.num_heads.max(1)).is_multiple_of(2)
        {
            return Err(invalid(
                "num_heads",
                "differential attention splits each head in two: embed_dim / num_heads must be even",
            ));
        }
        self.validate_rotary()?;
        self.validate_rel_pos()?;
        if self.distilled && self.reg_tokens > 0 {
            return Err(invalid(
                "reg_tokens",
                "a distilled model (class and distillation tokens) has no register tokens in timm",
            ));
        }
        if self.mlp_kind == MlpKind::SwigluPacked
            && !mlp_hidden(self.embed_dim, self.mlp_ratio).is_multiple_of(2)
        {
            return Err(invalid(
                "mlp_ratio",
                "`swiglu_packed` splits fc1 in two halves: embed_dim × mlp_ratio must be even",
            ));
        }
        if self.distilled && !(self.class_token && self.global_pool == GlobalPool::Token) {
            return Err(invalid(
                "distilled",
                "the distillation head reads the class and distillation tokens: needs \
                 `class_token = true` and `global_pool = token`",
            ));
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
        if let Some(v) = self.init_values
            && !v.is_finite()
        {
            return Err(invalid("init_values", format!("must be finite, got {v}")));
        }
        Ok(())
    }

    /// What a relative position bias needs: plain attention in pre- or post-norm blocks; a
    /// table (BEiT) one class token and a fixed input size, as timm's.
    fn validate_rel_pos(&self) -> Result<()> {
        let Some(rel_pos) = &self.rel_pos else {
            return Ok(());
        };
        if self.block_fn.is_parallel() || self.attn_layer != AttnLayer::Attention {
            return Err(invalid(
                "rel_pos",
                "relative position biases need pre- or post-norm blocks with plain attention",
            ));
        }
        match rel_pos.kind {
            RelPosKind::Table => {
                if !self.class_token || self.num_prefix_tokens() != 1 {
                    return Err(invalid(
                        "rel_pos",
                        "a relative position table (BEiT's) needs exactly one prefix token, the \
                         class token",
                    ));
                }
                if self.dynamic_img_size {
                    return Err(invalid(
                        "dynamic_img_size",
                        "a relative position table is for one grid; build the model at the \
                         input size (its tables are resized while loading, as timm's)",
                    ));
                }
            }
            RelPosKind::Mlp => {
                if rel_pos.hidden_dim == 0 || rel_pos.hidden_dim > crate::limits::MAX_WIDTH {
                    return Err(invalid(
                        "rel_pos.hidden_dim",
                        format!(
                            "must be in 1..={}, got {}",
                            crate::limits::MAX_WIDTH,
                            rel_pos.hidden_dim
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// What rotary embeddings, query/key norms and the attention pool's own sizes need.
    fn validate_rotary(&self) -> Result<()> {
        let head_dim = self.embed_dim / self.num_heads.max(1);
        if let Some(rope) = &self.rope {
            if !head_dim.is_multiple_of(4) {
                return Err(invalid(
                    "rope",
                    format!(
                        "rotary embeddings split each head in four (two axes, sin and cos):                          embed_dim / num_heads = {head_dim} must be a multiple of 4"
                    ),
                ));
            }
            if self.block_fn.is_parallel() || self.attn_layer != AttnLayer::Attention {
                return Err(invalid(
                    "rope",
                    "rotary embeddings need pre- or post-norm blocks with plain attention",
                ));
            }
            if !(rope.temperature.is_finite() && rope.temperature > 0.0) {
                return Err(invalid(
                    "rope.temperature",
                    format!("must be positive, got {}", rope.temperature),
                ));
            }
            if !rope.grid_offset.is_finite() {
                return Err(invalid("rope.grid_offset", "must be finite"));
            }
            if rope.ref_feat_shape.is_some_and(|[h, w]| h == 0 || w == 0) {
                return Err(invalid("rope.ref_feat_shape", "sides must be positive"));
            }
            if let Some(s) = rope.shift_coords
                && !(s.is_finite() && s >= 0.0)
            {
                return Err(invalid(
                    "rope.shift_coords",
                    format!("must be ≥ 0, got {s}"),
                ));
            }
            for (field, factor) in [
                ("rope.jitter_coords", rope.jitter_coords),
                ("rope.rescale_coords", rope.rescale_coords),
            ] {
                if let Some(f) = factor
                    && !(f.is_finite() && f >= 1.0)
                {
                    return Err(invalid(field, format!("must be a factor ≥ 1, got {f}")));
                }
            }
            if rope.kind == RopeKind::Mixed && rope.rotate_half {
                return Err(invalid(
                    "rope.rotate_half",
                    "`mixed` rotary embeddings are interleaved (timm refuses rotate_half)",
                ));
            }
        }
        if (self.qk_norm || self.attn_only_layer_scale || self.zero_k_bias)
            && (self.block_fn.is_parallel() || self.attn_layer != AttnLayer::Attention)
        {
            return Err(invalid(
                "qk_norm",
                "query/key norms and attention-only LayerScale need pre- or post-norm blocks                  with plain attention",
            ));
        }
        if let Some(kv) = &self.num_kv_heads {
            if kv.len() != self.depth {
                return Err(invalid(
                    "num_kv_heads",
                    format!(
                        "needs one entry per block ({}), got {}",
                        self.depth,
                        kv.len()
                    ),
                ));
            }
            if let Some(bad) = kv
                .iter()
                .find(|&&k| k == 0 || !self.num_heads.is_multiple_of(k))
            {
                return Err(invalid(
                    "num_kv_heads",
                    format!("{bad} does not divide num_heads {}", self.num_heads),
                ));
            }
            if self.block_fn.is_parallel() || self.attn_layer != AttnLayer::Attention {
                return Err(invalid(
                    "num_kv_heads",
                    "grouped-query attention needs pre- or post-norm blocks with plain attention",
                ));
            }
        }
        if self.pos_embed_resample.mode == InterpMode::Bicubic && !self.pos_embed_resample.antialias
        {
            return Err(invalid(
                "pos_embed_resample",
                "bicubic resampling without antialiasing is not supported (bicubic antialiased, \
                 or bilinear)",
            ));
        }
        if let Some([h, w]) = self.pos_embed_grid_size
            && (h == 0 || w == 0 || h * w > MAX_TOKENS)
        {
            return Err(invalid(
                "pos_embed_grid_size",
                format!("[{h}, {w}]: sides must be positive, at most {MAX_TOKENS} positions"),
            ));
        }
        if self.pos_embed == PosEmbedKind::Factorized && !self.no_embed_class {
            return Err(invalid(
                "pos_embed",
                "the factorised embedding covers the patches only: needs no_embed_class",
            ));
        }
        if let Some(heads) = self.attn_pool_num_heads
            && (heads == 0 || !self.embed_dim.is_multiple_of(heads))
        {
            return Err(invalid(
                "attn_pool_num_heads",
                format!(
                    "embed_dim {} must be a positive multiple of it, got {heads}",
                    self.embed_dim
                ),
            ));
        }
        if let Some(ratio) = self.attn_pool_mlp_ratio {
            check_mlp_ratio(self.embed_dim, ratio)?;
        }
        check_bounds(&[("mlp_align_to", self.mlp_align_to, MAX_WIDTH)])
    }

    /// The grid the position table is stored at: `pos_embed_grid_size`, or the image's.
    pub fn pos_grid(&self) -> Result<[usize; 2]> {
        match self.pos_embed_grid_size {
            Some(grid) => Ok(grid),
            None => self.grid_size(),
        }
    }

    /// Key/value heads of block `index` (`None`: as many as the heads).
    pub fn kv_heads_of(&self, index: usize) -> Option<usize> {
        self.num_kv_heads
            .as_ref()
            .and_then(|kv| kv.get(index).copied())
            .filter(|&kv| kv != self.num_heads)
    }

    /// The sizes within [`crate::limits`].
    fn check_sizes(&self) -> Result<()> {
        check_bounds(&[
            ("img_size", self.img_size[0].max(self.img_size[1]), MAX_SIDE),
            ("in_chans", self.in_chans, MAX_CHANNELS),
            ("embed_dim", self.embed_dim, MAX_WIDTH),
            ("depth", self.depth, MAX_DEPTH),
            ("num_classes", self.num_classes, MAX_CLASSES),
            ("reg_tokens", self.reg_tokens, MAX_CHANNELS),
        ])?;
        check_mlp_ratio(self.embed_dim, self.mlp_ratio)
    }

    /// Patch grid `[rows, cols]` at the configured image size (whole patches: timm's strided
    /// convolution drops the pixels past the last one; with a stem, of its feature map).
    pub fn grid_size(&self) -> Result<[usize; 2]> {
        self.patch_embed_config().grid_size()
    }

    /// The patch embedding this config builds.
    pub fn patch_embed_config(&self) -> PatchEmbedConfig {
        PatchEmbedConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_embed_dim(self.embed_dim)
            .with_bias(self.patch_bias)
            .with_kind(self.patch_embed)
            .with_norm(self.embed_norm_layer.is_some())
            .with_norm_kind(self.embed_norm_layer.unwrap_or_default())
            .with_norm_eps(self.norm_eps)
            .with_dynamic_img_pad(self.dynamic_img_pad)
            .with_crop_remainder(self.backbone.is_none())
            .with_backbone(self.backbone.clone())
            .with_proj(self.embed_proj)
    }

    /// Tokens before the patches: the class token, the distillation token when distilled, the
    /// register tokens.
    pub fn num_prefix_tokens(&self) -> usize {
        usize::from(self.class_token) + usize::from(self.distilled) + self.reg_tokens
    }

    /// Prefix tokens the position embedding covers (none with `no_embed_class`).
    pub fn num_embedded_prefix_tokens(&self) -> usize {
        if self.no_embed_class {
            0
        } else {
            self.num_prefix_tokens()
        }
    }

    /// Whether the pooled vector goes through `fc_norm` (and the token norm is skipped).
    pub fn uses_fc_norm(&self) -> bool {
        self.fc_norm
            .unwrap_or(self.global_pool.uses_fc_norm_by_default())
    }

    /// Whether the tokens go through a final norm after the blocks (`norm`, not `fc_norm`).
    pub fn uses_token_norm(&self) -> bool {
        self.final_norm && !self.uses_fc_norm()
    }

    /// Reads a model config file (JSON); fields it leaves out keep the defaults (ViT-B/16), and
    /// unknown fields are an error naming them.
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::weights::config_file::load_config(path, &Self::new())
    }

    /// Builds the model after [`Self::validate`], with timm's initialisation.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.validate()?;
        crate::memory::check_weights_fit(self, "depth / embed_dim")?;
        let d = self.embed_dim;
        let grid = self.grid_size()?;
        let prefix = self.num_prefix_tokens();
        let embedded_prefix = self.num_embedded_prefix_tokens();
        let pos_grid = self.pos_grid()?;
        let pos_tokens = pos_grid[0] * pos_grid[1] + embedded_prefix;
        let norm = || self.norm_layer.init(d, self.norm_eps, device);
        let fc_norm = self.final_norm && self.uses_fc_norm();
        let token_norm = self.uses_token_norm();

        let patch_embed = self.patch_embed_config().try_init(device)?;
        // timm: cls_token ~ N(0, 1e-6), pos_embed ~ trunc-normal(0.02).
        let cls_token = self.class_token.then(|| {
            lazy_param([1, 1, d], device, move |device| {
                Tensor::random([1, 1, d], Distribution::Normal(0.0, 1e-6), device)
            })
        });
        // timm (VisionTransformerDistilled): dist_token ~ trunc-normal(0.02).
        let dist_token = self.distilled.then(|| {
            lazy_param([1, 1, d], device, move |device| {
                trunc_normal_timm([1, 1, d], TIMM_INIT_STD, device)
            })
        });
        // timm: reg_token ~ N(0, 1e-6), as the class token.
        let reg = self.reg_tokens;
        let reg_token = (reg > 0).then(|| {
            lazy_param([1, reg, d], device, move |device| {
                Tensor::random([1, reg, d], Distribution::Normal(0.0, 1e-6), device)
            })
        });
        let head =
            || (self.num_classes > 0).then(|| timm_linear(d, self.num_classes, true, device));
        let (pos_embed, pos_embed_fixed) = match self.pos_embed {
            PosEmbedKind::Learn => (
                Some(lazy_param([1, pos_tokens, d], device, move |device| {
                    trunc_normal_timm([1, pos_tokens, d], TIMM_INIT_STD, device)
                })),
                None,
            ),
            PosEmbedKind::Sincos => (None, Some(sincos_2d(grid, d, embedded_prefix, device))),
            PosEmbedKind::None | PosEmbedKind::Factorized => (None, None),
        };
        // NaFlexViT: normal(0.02) row and column tables.
        let axis_table = |len: usize| {
            (self.pos_embed == PosEmbedKind::Factorized).then(|| {
                lazy_param([1, len, d], device, move |device| {
                    Tensor::random(
                        [1, len, d],
                        Distribution::Normal(0.0, TIMM_INIT_STD),
                        device,
                    )
                })
            })
        };
        let (pos_embed_y, pos_embed_x) = (axis_table(pos_grid[0]), axis_table(pos_grid[1]));
        let rope = self
            .rope
            .as_ref()
            .map(|rope| rope.init(d / self.num_heads, self.num_heads, self.depth, device));
        let blocks = drop_path_schedule(self.drop_path_rate, self.depth)
            .into_iter()
            .enumerate()
            .map(|(index, drop_path)| {
                BlockConfig::new(d, self.num_heads)
                    .with_mlp_ratio(self.mlp_ratio)
                    .with_qkv_bias(self.qkv_bias)
                    .with_proj_bias(self.proj_bias)
                    .with_scale_attn_norm(self.scale_attn_norm)
                    .with_scale_mlp_norm(self.scale_mlp_norm)
                    .with_qk_norm(self.qk_norm)
                    .with_zero_k_bias(self.zero_k_bias)
                    .with_num_kv_heads(self.kv_heads_of(index))
                    .with_attn_only_layer_scale(self.attn_only_layer_scale)
                    .with_mlp_align_to(self.mlp_align_to)
                    .with_proj_drop(self.proj_drop_rate)
                    .with_attn_drop(self.attn_drop_rate)
                    .with_drop_path(drop_path)
                    .with_init_values(self.init_values)
                    .with_mlp_kind(self.mlp_kind)
                    .with_act(self.act_layer)
                    .with_norm(self.norm_layer)
                    .with_norm_eps(self.norm_eps)
                    .with_kind(self.block_fn)
                    .with_attn_layer(self.attn_layer)
                    .with_index(index)
                    .with_rel_pos(self.rel_pos.clone().filter(|r| !r.shared))
                    .with_rel_pos_grid(grid)
                    .with_prefix_tokens(prefix)
                    .init_encoder(device)
            })
            .collect();
        // timm builds the pool with its own defaults (q/kv biases on), whatever `qkv_bias` says.
        let attn_pool = (self.global_pool == GlobalPool::Map).then(|| {
            AttentionPoolConfig::new(d)
                .with_num_heads(self.attn_pool_num_heads.unwrap_or(self.num_heads))
                .with_mlp_ratio(self.attn_pool_mlp_ratio.unwrap_or(self.mlp_ratio))
                .with_norm(self.norm_layer)
                .with_norm_eps(self.norm_eps)
                .with_act(self.act_layer)
                .init(device)
        });
        Ok(VisionTransformer {
            patch_embed,
            cls_token,
            dist_token,
            reg_token,
            pos_embed,
            pos_embed_fixed,
            pos_embed_y,
            pos_embed_x,
            pos_grid,
            pos_resample: self.pos_embed_resample,
            rope,
            shared_rel_pos: self
                .rel_pos
                .as_ref()
                .filter(|r| r.shared)
                .map(|r| r.init(self.num_heads, grid, prefix, device)),
            pos_drop: DropoutConfig::new(self.pos_drop_rate).init(),
            norm_pre: self.pre_norm.then(norm),
            blocks,
            norm: token_norm.then(norm),
            fc_norm: fc_norm.then(norm),
            attn_pool,
            head_drop: DropoutConfig::new(self.drop_rate).init(),
            head: head(),
            head_dist: if self.distilled { head() } else { None },
            global_pool: self.global_pool,
            no_embed_class: self.no_embed_class,
            num_prefix_tokens: prefix,
            pool_include_prefix: self.pool_include_prefix,
            dynamic_img_size: self.dynamic_img_size,
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config, with [`Self::validate`]'s message; use [`Self::try_init`] for
    /// configs that come from users.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> VisionTransformer<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl ModelConfig for VisionTransformerConfig {
    fn family(&self) -> &'static str {
        if self.distilled {
            DEIT_FAMILY
        } else {
            VIT_FAMILY
        }
    }

    fn validate(&self) -> Result<()> {
        VisionTransformerConfig::validate(self)
    }

    crate::timm_config_fields!();

    fn macs(&self) -> u64 {
        VisionTransformerConfig::macs(self)
    }

    fn param_estimate(&self) -> u64 {
        VisionTransformerConfig::param_estimate(self)
    }

    fn activation_estimate(&self) -> u64 {
        VisionTransformerConfig::activation_estimate(self)
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        // timm's DeiT (distilled) configs normalise with ImageNet's statistics.
        if self.distilled {
            PretrainedCfg::imagenet_default(self.in_chans, self.img_size)
        } else {
            PretrainedCfg::vit_default(self.in_chans, self.img_size)
        }
    }

    fn card_config(&self) -> Value {
        serde_json::to_value(self).expect("configs serialise")
    }
}
