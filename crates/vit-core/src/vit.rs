//! The Vision Transformer (Dosovitskiy et al. 2021) with timm's structure and parameter names.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Distribution, Tensor, backend::Backend};

use crate::block::{Block, BlockConfig};
use crate::drop_path::drop_path_schedule;
use crate::error::{Result, VitError};
use crate::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use crate::mlp::MlpKind;
use crate::patch_embed::{PatchEmbed, PatchEmbedConfig, PatchEmbedKind, patch_grid};
use crate::pooling::{AttentionPool, AttentionPoolConfig, GlobalPool, pool_tokens};
use crate::pos_embed::{PosEmbedKind, sincos_2d};
use crate::resample::resample_abs_pos_embed;

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
    /// LayerNorm before the blocks (CLIP-style).
    #[config(default = false)]
    pub pre_norm: bool,
    /// Patch projection as a conv or as a linear layer on flattened patches.
    #[config(default = "PatchEmbedKind::Conv")]
    pub patch_embed: PatchEmbedKind,
    /// Bias on the patch projection.
    #[config(default = true)]
    pub patch_bias: bool,
    /// Feed-forward network of the blocks.
    #[config(default = "MlpKind::Gelu")]
    pub mlp_kind: MlpKind,
    /// LayerNorm epsilon.
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
}

/// A Vision Transformer. Build it from a [`VisionTransformerConfig`] or a preset
/// ([`crate::presets`]); parameter names match timm's so checkpoints map one to one.
#[derive(Module, Debug)]
pub struct VisionTransformer<B: Backend> {
    /// Patch embedding.
    pub patch_embed: PatchEmbed<B>,
    /// Class token `[1, 1, dim]`.
    pub cls_token: Option<Param<Tensor<B, 3>>>,
    /// Learned position embedding `[1, tokens, dim]`.
    pub pos_embed: Option<Param<Tensor<B, 3>>>,
    /// Fixed sin-cos position embedding `[1, tokens, dim]` (a constant, not a parameter).
    pub pos_embed_fixed: Option<Tensor<B, 3>>,
    /// Dropout after the position embedding.
    pub pos_drop: Dropout,
    /// Optional norm before the blocks.
    pub norm_pre: Option<LayerNorm<B>>,
    /// The transformer blocks.
    pub blocks: Vec<Block<B>>,
    /// Final norm over all tokens (absent when `fc_norm` is used).
    pub norm: Option<LayerNorm<B>>,
    /// Norm after pooling (avg/max pooling by default).
    pub fc_norm: Option<LayerNorm<B>>,
    /// Learned attention pooling (`global_pool = map`).
    pub attn_pool: Option<AttentionPool<B>>,
    /// Dropout before the head.
    pub head_drop: Dropout,
    /// Classifier (absent when `num_classes = 0`).
    pub head: Option<Linear<B>>,
    /// How tokens are pooled.
    pub global_pool: GlobalPool,
    /// Whether the position embedding skips the prefix tokens.
    pub no_embed_class: bool,
    /// Tokens before the patches (class token, …).
    pub num_prefix_tokens: usize,
    /// Whether inputs of other sizes than `patch_embed.img_size` are accepted.
    pub dynamic_img_size: bool,
}

/// What [`VisionTransformer::forward_intermediates`] hands back.
#[derive(Debug, Clone)]
pub struct VitIntermediates<B: Backend> {
    /// All tokens after the final norm `[batch, tokens, dim]` (as `forward_features`).
    pub features: Tensor<B, 3>,
    /// Every block's output `[batch, tokens, dim]`, before the final norm.
    pub blocks: Vec<Tensor<B, 3>>,
    /// Every block's attention weights `[batch, heads, tokens, tokens]` (when requested).
    pub attentions: Vec<Tensor<B, 4>>,
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
        patch_grid(self.img_size, self.patch_size)?;
        if self.in_chans == 0 {
            return Err(invalid("in_chans", "must be at least 1"));
        }
        if self.embed_dim == 0 || self.num_heads == 0 || self.embed_dim % self.num_heads != 0 {
            return Err(invalid(
                "num_heads",
                format!(
                    "embed_dim {} must be a positive multiple of num_heads {}",
                    self.embed_dim, self.num_heads
                ),
            ));
        }
        if self.pos_embed == PosEmbedKind::Sincos && self.embed_dim % 4 != 0 {
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
        if self.mlp_ratio.is_nan() || self.mlp_ratio <= 0.0 {
            return Err(invalid(
                "mlp_ratio",
                format!("must be > 0, got {}", self.mlp_ratio),
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

    /// Patch grid `[rows, cols]` at the configured image size.
    pub fn grid_size(&self) -> Result<[usize; 2]> {
        patch_grid(self.img_size, self.patch_size)
    }

    /// Tokens before the patches (the class token when there is one).
    pub fn num_prefix_tokens(&self) -> usize {
        usize::from(self.class_token)
    }

    /// Whether the pooled vector goes through `fc_norm` (and the token norm is skipped).
    pub fn uses_fc_norm(&self) -> bool {
        self.fc_norm
            .unwrap_or(self.global_pool.uses_fc_norm_by_default())
    }

    /// Reads a model config file (JSON); fields it leaves out keep the defaults (ViT-B/16), and
    /// unknown fields are an error naming them.
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        crate::config_file::load_config(path, &Self::new())
    }

    /// Builds the model after [`Self::validate`], with timm's initialisation.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.validate()?;
        let d = self.embed_dim;
        let grid = self.grid_size()?;
        let prefix = self.num_prefix_tokens();
        let pos_tokens = grid[0] * grid[1] + if self.no_embed_class { 0 } else { prefix };
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(self.norm_eps)
                .init(device)
        };
        let fc_norm = self.uses_fc_norm();

        let patch_embed = PatchEmbedConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_embed_dim(d)
            .with_bias(self.patch_bias)
            .with_kind(self.patch_embed)
            .try_init(device)?;
        // timm: cls_token ~ N(0, 1e-6), pos_embed ~ trunc-normal(0.02).
        let cls_token = self.class_token.then(|| {
            lazy_param([1, 1, d], device, move |device| {
                Tensor::random([1, 1, d], Distribution::Normal(0.0, 1e-6), device)
            })
        });
        let (pos_embed, pos_embed_fixed) = match self.pos_embed {
            PosEmbedKind::Learn => (
                Some(lazy_param([1, pos_tokens, d], device, move |device| {
                    trunc_normal_timm([1, pos_tokens, d], TIMM_INIT_STD, device)
                })),
                None,
            ),
            PosEmbedKind::Sincos => {
                let fixed_prefix = if self.no_embed_class { 0 } else { prefix };
                (None, Some(sincos_2d(grid, d, fixed_prefix, device)))
            }
            PosEmbedKind::None => (None, None),
        };
        let blocks = drop_path_schedule(self.drop_path_rate, self.depth)
            .into_iter()
            .map(|drop_path| {
                BlockConfig::new(d, self.num_heads)
                    .with_mlp_ratio(self.mlp_ratio)
                    .with_qkv_bias(self.qkv_bias)
                    .with_proj_drop(self.proj_drop_rate)
                    .with_attn_drop(self.attn_drop_rate)
                    .with_drop_path(drop_path)
                    .with_init_values(self.init_values)
                    .with_mlp_kind(self.mlp_kind)
                    .with_norm_eps(self.norm_eps)
                    .init(device)
            })
            .collect();
        // timm builds the pool with its own defaults (q/kv biases on), whatever `qkv_bias` says.
        let attn_pool = (self.global_pool == GlobalPool::Map).then(|| {
            AttentionPoolConfig::new(d)
                .with_num_heads(self.num_heads)
                .with_mlp_ratio(self.mlp_ratio)
                .with_norm_eps(self.norm_eps)
                .init(device)
        });
        Ok(VisionTransformer {
            patch_embed,
            cls_token,
            pos_embed,
            pos_embed_fixed,
            pos_drop: DropoutConfig::new(self.pos_drop_rate).init(),
            norm_pre: self.pre_norm.then(norm),
            blocks,
            norm: (!fc_norm).then(norm),
            fc_norm: fc_norm.then(norm),
            attn_pool,
            head_drop: DropoutConfig::new(self.drop_rate).init(),
            head: (self.num_classes > 0).then(|| timm_linear(d, self.num_classes, true, device)),
            global_pool: self.global_pool,
            no_embed_class: self.no_embed_class,
            num_prefix_tokens: prefix,
            dynamic_img_size: self.dynamic_img_size,
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config, with [`Self::validate`]'s message; use [`Self::try_init`] for
    /// configs that come from users.
    pub fn init<B: Backend>(&self, device: &B::Device) -> VisionTransformer<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<B: Backend> VisionTransformer<B> {
    /// Checks that `images` fit the model: `[batch, in_chans, height, width]` at the built size,
    /// or at any size that splits into whole patches when `dynamic_img_size` is on.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        self.patch_embed.check_size(
            dims,
            self.dynamic_img_size,
            "; build it with `dynamic_img_size = true` to run other sizes",
        )
    }

    /// Class logits `[batch, num_classes]` (pooled features when `num_classes = 0`).
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    /// [`Self::forward`] after [`Self::check_input`]: the entry point for user-supplied tensors.
    pub fn try_forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 2>> {
        self.check_input(images.dims())?;
        Ok(self.forward(images))
    }

    /// All tokens `[batch, prefix + patches, dim]` after the blocks and the final norm.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        self.forward_tokens(images, Vec::new())
    }

    /// [`Self::forward_features`] with `extra_prefix` tokens after the class token (see
    /// [`Self::embed`]): DeiT's distillation token goes through the encoder this way.
    pub fn forward_tokens(
        &self,
        images: Tensor<B, 4>,
        extra_prefix: Vec<Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        let mut x = self.embed(images, extra_prefix);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.final_norm(x)
    }

    /// Pools features from [`Self::forward_features`]; with `pre_logits` the pooled, normed
    /// vector `[batch, dim]` is returned instead of the logits.
    pub fn forward_head(&self, features: Tensor<B, 3>, pre_logits: bool) -> Tensor<B, 2> {
        let pooled = match &self.attn_pool {
            Some(pool) => pool.forward(features),
            None => pool_tokens(features, self.global_pool, self.num_prefix_tokens),
        };
        let pooled = match &self.fc_norm {
            Some(norm) => norm.forward(pooled),
            None => pooled,
        };
        let pooled = self.head_drop.forward(pooled);
        match (&self.head, pre_logits) {
            (Some(head), false) => head.forward(pooled),
            _ => pooled,
        }
    }

    /// The pooled, normed vector before the classifier `[batch, dim]`.
    pub fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), true)
    }

    /// Runs the encoder keeping every block's output and, when `with_attention`, every block's
    /// attention weights — for feature extraction and attention maps.
    pub fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        with_attention: bool,
    ) -> VitIntermediates<B> {
        self.forward_intermediates_with_prefix(images, Vec::new(), with_attention)
    }

    /// [`Self::forward_intermediates`] with `extra_prefix` tokens (DeiT's distillation token).
    pub fn forward_intermediates_with_prefix(
        &self,
        images: Tensor<B, 4>,
        extra_prefix: Vec<Tensor<B, 3>>,
        with_attention: bool,
    ) -> VitIntermediates<B> {
        let mut x = self.embed(images, extra_prefix);
        let mut blocks = Vec::with_capacity(self.blocks.len());
        let mut attentions = Vec::new();
        for block in &self.blocks {
            x = if with_attention {
                let (out, weights) = block.forward_with_attention(x);
                attentions.push(weights);
                out
            } else {
                block.forward(x)
            };
            blocks.push(x.clone());
        }
        VitIntermediates {
            features: self.final_norm(x),
            blocks,
            attentions,
        }
    }

    /// Patch tokens with the prefix tokens prepended and the position embedding added,
    /// after position dropout and the optional pre-norm: the input of the first block.
    ///
    /// `extra_prefix` tokens `[batch, k, dim]` go after the class token (DeiT's distillation
    /// token); the position embedding must cover them.
    pub fn embed(&self, images: Tensor<B, 4>, extra_prefix: Vec<Tensor<B, 3>>) -> Tensor<B, 3> {
        let images_dims = images.dims();
        let patches = self.patch_embed.forward(images);
        let batch = patches.dims()[0];
        let dim = patches.dims()[2];
        let mut prefix: Vec<Tensor<B, 3>> = self
            .cls_token
            .iter()
            .map(|t| t.val().expand([batch, 1, dim]))
            .collect();
        prefix.extend(extra_prefix);
        let [_, _, h, w] = images_dims;
        let grid = [
            h / self.patch_embed.patch_size,
            w / self.patch_embed.patch_size,
        ];
        let pos = self.position_embedding(grid);
        let with_prefix = |x: Tensor<B, 3>| {
            if prefix.is_empty() {
                x
            } else {
                let mut all = prefix.clone();
                all.push(x);
                Tensor::cat(all, 1)
            }
        };
        // timm's `_pos_embed`: prefix tokens inside or outside the embedded span.
        let x = match (pos, self.no_embed_class) {
            (None, _) => with_prefix(patches),
            (Some(pos), false) => with_prefix(patches) + pos,
            (Some(pos), true) => with_prefix(patches + pos),
        };
        let x = self.pos_drop.forward(x);
        match &self.norm_pre {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// Patch grid `[rows, cols]` the model was built for.
    pub fn grid_size(&self) -> [usize; 2] {
        let [h, w] = self.patch_embed.img_size;
        [
            h / self.patch_embed.patch_size,
            w / self.patch_embed.patch_size,
        ]
    }

    /// The position embedding for a patch grid `[rows, cols]`: the stored one at the built grid;
    /// at another grid the learned one resampled as timm does (bicubic, antialiased, prefix
    /// tokens kept apart) and the sin-cos one recomputed. `None` without a position embedding.
    pub fn position_embedding(&self, grid: [usize; 2]) -> Option<Tensor<B, 3>> {
        let built = self.grid_size();
        let prefix_in = |pos: &Tensor<B, 3>| pos.dims()[1] - built[0] * built[1];
        if let Some(pos) = &self.pos_embed {
            let pos = pos.val();
            let prefix = prefix_in(&pos);
            return Some(resample_abs_pos_embed(pos, built, grid, prefix));
        }
        let fixed = self.pos_embed_fixed.as_ref()?;
        if grid == built {
            return Some(fixed.clone());
        }
        let [_, _, dim] = fixed.dims();
        Some(sincos_2d(grid, dim, prefix_in(fixed), &fixed.device()))
    }

    fn final_norm(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }
}
