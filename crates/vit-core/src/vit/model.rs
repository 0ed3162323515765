//! The Vision Transformer (Dosovitskiy et al. 2021) with timm's structure and parameter names,
//! and DeiT's distillation token and head as an option (Touvron et al. 2021).

use burn::module::{Module, Param};
use burn::nn::{Dropout, Linear};
use burn::tensor::{Tensor, TensorData};
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
use crate::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};
use crate::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use crate::layers::attention::TokenPositions;
use crate::layers::block::EncoderBlock;
use crate::layers::init::timm_linear;
use crate::layers::linear::linear;
use crate::layers::norm::{Norm, maybe_norm};
use crate::layers::patch_embed::PatchEmbed;
use crate::layers::pooling::{AttentionPool, GlobalPool, pool_tokens};
use crate::layers::pos_embed::sincos_2d;
use crate::layers::rel_pos::RelPos;
use crate::layers::resample::{PosEmbedResample, resample_grid_with, resample_line};
use crate::layers::rope::{Rope, RopeTables};
use crate::model::VisionModel;

/// A Vision Transformer. Build it from a [`VisionTransformerConfig`] or a preset
/// ([`crate::vit::presets`]); parameter names match timm's so checkpoints map one to one.
#[derive(Module, Debug)]
pub struct VisionTransformer<B: VitBackend> {
    /// Patch embedding.
    pub patch_embed: PatchEmbed<B>,
    /// Class token `[1, 1, dim]`.
    pub cls_token: Option<Param<Tensor<B, 3>>>,
    /// DeiT's distillation token `[1, 1, dim]`, after the class token.
    pub dist_token: Option<Param<Tensor<B, 3>>>,
    /// Register tokens `[1, reg_tokens, dim]`, after the class token.
    pub reg_token: Option<Param<Tensor<B, 3>>>,
    /// Learned position embedding `[1, tokens, dim]`.
    pub pos_embed: Option<Param<Tensor<B, 3>>>,
    /// Fixed sin-cos position embedding `[1, tokens, dim]` (a constant, not a parameter).
    pub pos_embed_fixed: Option<Tensor<B, 3>>,
    /// NaFlexViT's factorised row table `[1, rows, dim]`.
    pub pos_embed_y: Option<Param<Tensor<B, 3>>>,
    /// NaFlexViT's factorised column table `[1, cols, dim]`.
    pub pos_embed_x: Option<Param<Tensor<B, 3>>>,
    /// The grid `[rows, cols]` the position tables are stored at.
    pub pos_grid: [usize; 2],
    /// How they are resampled to another grid.
    pub pos_resample: PosEmbedResample,
    /// Rotary position embeddings of the patch tokens' queries and keys in every block (timm's
    /// `Eva`: EVA-02, DINOv3, PE, RoPE-ViT; key `rope.freqs` for learned ones).
    pub rope: Option<Rope<B>>,
    /// A relative position bias on every block's scores, shared by all of them (BEiT's
    /// `rel_pos_bias`, ViT-relpos' `shared_rel_pos`; per-block ones sit in `attn.rel_pos`).
    pub shared_rel_pos: Option<RelPos<B>>,
    /// Dropout after the position embedding.
    pub pos_drop: Dropout,
    /// Optional norm before the blocks.
    pub norm_pre: Option<Norm<B>>,
    /// The transformer blocks.
    pub blocks: Vec<EncoderBlock<B>>,
    /// Final norm over all tokens (absent when `fc_norm` is used or `final_norm` is off).
    pub norm: Option<Norm<B>>,
    /// Norm after pooling (avg/max pooling by default; absent when `final_norm` is off).
    pub fc_norm: Option<Norm<B>>,
    /// Learned attention pooling (`global_pool = map`).
    pub attn_pool: Option<AttentionPool<B>>,
    /// Dropout before the head.
    pub head_drop: Dropout,
    /// Classifier (absent when `num_classes = 0`).
    pub head: Option<Linear<B>>,
    /// DeiT's classifier on the distillation token (distilled models with classes only).
    pub head_dist: Option<Linear<B>>,
    /// How tokens are pooled.
    pub global_pool: GlobalPool,
    /// Whether the position embedding skips the prefix tokens.
    pub no_embed_class: bool,
    /// Tokens before the patches (class token, distillation token, register tokens).
    pub num_prefix_tokens: usize,
    /// Whether pooling (avg/max/attention pool) covers the prefix tokens too.
    pub pool_include_prefix: bool,
    /// Whether inputs of other sizes than `patch_embed.img_size` are accepted.
    pub dynamic_img_size: bool,
}

/// Everything about an input's patch grid the blocks read, computed once per forward:
/// [`VisionTransformer::embed_positioned`].
#[derive(Debug)]
pub struct GridPositions<B: VitBackend> {
    /// Rotary tables of every block.
    pub rope: Option<RopeTables<B>>,
    /// The shared relative position bias `[heads, tokens, tokens]`.
    pub shared_bias: Option<Tensor<B, 3>>,
    /// The patch grid `[rows, cols]`.
    pub grid: [usize; 2],
}

impl<B: VitBackend> GridPositions<B> {
    /// What block `index` reads.
    pub fn block(&self, index: usize) -> TokenPositions<'_, B> {
        TokenPositions {
            rope: self.rope.as_ref().map(|r| r.block(index)),
            shared_bias: self.shared_bias.as_ref(),
            grid: self.grid,
        }
    }
}

/// What [`VisionTransformer::forward_blocks`] hands back.
#[derive(Debug, Clone)]
pub struct VitBlockOutputs<B: VitBackend> {
    /// All tokens after the final norm `[batch, tokens, dim]` (as `forward_features`).
    pub features: Tensor<B, 3>,
    /// Every block's output `[batch, tokens, dim]`, before the final norm.
    pub blocks: Vec<Tensor<B, 3>>,
    /// Every block's attention weights `[batch, heads, tokens, tokens]` (when requested).
    pub attentions: Vec<Tensor<B, 4>>,
}
impl<B: VitBackend> VisionTransformer<B> {
    /// Checks that `images` fit the model: `[batch, in_chans, height, width]` at the built size,
    /// or at any size that splits into whole patches when `dynamic_img_size` is on.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        self.patch_embed.check_size(
            dims,
            self.dynamic_img_size,
            "; build it with `dynamic_img_size = true` to run other sizes",
        )
    }

    /// Class logits `[batch, num_classes]` (pooled features when `num_classes = 0`); a distilled
    /// model returns the mean of its two heads, as timm does at inference.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    /// [`Self::forward`] after [`Self::check_input`]: the entry point for user-supplied tensors.
    pub fn try_forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 2>> {
        self.check_input(images.dims())?;
        Ok(self.forward(images))
    }

    /// Training outputs: the class head's logits and, for a distilled model, the distillation
    /// head's (trained against the labels and the teacher respectively).
    pub fn forward_train(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        let features = self.forward_features(images);
        match (&self.head, &self.head_dist) {
            (Some(head), Some(head_dist)) => {
                let [cls, dist] = self.distilled_tokens(features);
                (linear(head, cls), Some(linear(head_dist, dist)))
            }
            _ => (self.forward_head(features, false), None),
        }
    }

    /// All tokens `[batch, prefix + patches, dim]` after the blocks and the final norm.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let (mut x, positions) = self.embed_positioned(images);
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward_at(x, positions.block(i), false).0;
        }
        self.final_norm(x)
    }

    /// Pools features from [`Self::forward_features`]; with `pre_logits` the pooled, normed
    /// vector `[batch, dim]` is returned instead of the logits. A distilled model averages its
    /// two heads (with `pre_logits`, the two tokens' outputs).
    pub fn forward_head(&self, features: Tensor<B, 3>, pre_logits: bool) -> Tensor<B, 2> {
        if self.dist_token.is_some() {
            let [cls, dist] = self.distilled_tokens(features);
            return match (&self.head, &self.head_dist, pre_logits) {
                (Some(head), Some(head_dist), false) => {
                    (linear(head, cls) + linear(head_dist, dist)) / 2.0
                }
                _ => (cls + dist) / 2.0,
            };
        }
        // timm: every pool but the class token skips the prefix tokens unless told otherwise.
        let skipped = if self.pool_include_prefix {
            0
        } else {
            self.num_prefix_tokens
        };
        let pooled = match &self.attn_pool {
            Some(pool) => {
                let [_, n, _] = features.dims();
                pool.forward(features.narrow(1, skipped, n - skipped))
            }
            None => pool_tokens(features, self.global_pool, skipped),
        };
        let pooled = maybe_norm(&self.fc_norm, pooled);
        let pooled = self.head_drop.forward(pooled);
        match (&self.head, pre_logits) {
            (Some(head), false) => linear(head, pooled),
            _ => pooled,
        }
    }

    /// The class and distillation tokens' outputs after head dropout, `[batch, dim]` each.
    fn distilled_tokens(&self, features: Tensor<B, 3>) -> [Tensor<B, 2>; 2] {
        let [b, _, d] = features.dims();
        [0, 1].map(|i| {
            let token = features.clone().narrow(1, i, 1).reshape([b, d]);
            self.head_drop.forward(token)
        })
    }

    /// The pooled, normed vector before the classifier `[batch, dim]`.
    pub fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), true)
    }

    /// Runs the encoder keeping every block's output (all tokens) and, when `with_attention`,
    /// every block's attention weights — for attention maps and probing. Feature maps on the
    /// patch grid, as a backbone gives them: [`Self::forward_intermediates`].
    pub fn forward_blocks(&self, images: Tensor<B, 4>, with_attention: bool) -> VitBlockOutputs<B> {
        let (mut x, positions) = self.embed_positioned(images);
        let mut blocks = Vec::with_capacity(self.blocks.len());
        let mut attentions = Vec::new();
        for (i, block) in self.blocks.iter().enumerate() {
            let (out, weights) = block.forward_at(x, positions.block(i), with_attention);
            attentions.extend(weights);
            x = out;
            blocks.push(x.clone());
        }
        VitBlockOutputs {
            features: self.final_norm(x),
            blocks,
            attentions,
        }
    }

    /// [`Self::embed`] and what the blocks need to know about the input's patch grid: the rotary
    /// tables of every block and the shared relative position bias, computed once per input.
    pub fn embed_positioned(&self, images: Tensor<B, 4>) -> (Tensor<B, 3>, GridPositions<B>) {
        let [_, _, h, w] = images.dims();
        let device = images.device();
        let grid = self.patch_embed.grid_for([h, w]);
        let rope = self
            .rope
            .as_ref()
            .map(|rope| rope.tables(grid, self.num_prefix_tokens, &device));
        let shared_bias = self.shared_rel_pos.as_ref().map(|r| r.bias(grid));
        let positions = GridPositions {
            rope,
            shared_bias,
            grid,
        };
        (self.embed(images), positions)
    }

    /// Patch tokens with the prefix tokens (class, distillation) prepended and the position
    /// embedding added, after position dropout and the optional pre-norm: the input of the
    /// first block.
    pub fn embed(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let [_, _, h, w] = images.dims();
        let patches = self.patch_embed.forward(images);
        let [batch, _, dim] = patches.dims();
        let prefix: Vec<Tensor<B, 3>> = [&self.cls_token, &self.dist_token, &self.reg_token]
            .into_iter()
            .flatten()
            .map(|t| {
                let t = t.val();
                let count = t.dims()[1];
                t.expand([batch, count, dim])
            })
            .collect();
        let grid = self.patch_embed.grid_for([h, w]);
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
        maybe_norm(&self.norm_pre, self.pos_drop.forward(x))
    }

    /// Patch grid `[rows, cols]` the model was built for.
    pub fn grid_size(&self) -> [usize; 2] {
        self.patch_embed.grid_for(self.patch_embed.img_size)
    }

    /// The position embedding for a patch grid `[rows, cols]`: the stored one at its own grid;
    /// at another grid the learned one resampled as timm does (bicubic, antialiased, prefix
    /// tokens kept apart — or as the model's `pos_resample` says), the factorised one from its
    /// resampled row and column tables, the sin-cos one recomputed. `None` without a position
    /// embedding.
    pub fn position_embedding(&self, grid: [usize; 2]) -> Option<Tensor<B, 3>> {
        let built = self.pos_grid;
        let prefix_in = |pos: &Tensor<B, 3>| pos.dims()[1] - built[0] * built[1];
        if let Some(pos) = &self.pos_embed {
            let pos = pos.val();
            let prefix = prefix_in(&pos);
            if grid == built {
                return Some(pos);
            }
            let [_, n, _] = pos.dims();
            let patches = pos.clone().narrow(1, prefix, n - prefix);
            let patches = resample_grid_with(patches, built, grid, &self.pos_resample);
            return Some(match prefix {
                0 => patches,
                _ => Tensor::cat(vec![pos.narrow(1, 0, prefix), patches], 1),
            });
        }
        if let (Some(y), Some(x)) = (&self.pos_embed_y, &self.pos_embed_x) {
            let square = self
                .pos_resample
                .ar_preserving
                .then(|| grid[0].max(grid[1]));
            let y = resample_line(y.val(), grid[0], square);
            let x = resample_line(x.val(), grid[1], square);
            let [_, _, dim] = y.dims();
            let table = y.reshape([grid[0], 1, dim]) + x.reshape([1, grid[1], dim]);
            return Some(table.reshape([1, grid[0] * grid[1], dim]));
        }
        let fixed = self.pos_embed_fixed.as_ref()?;
        if grid == built {
            return Some(fixed.clone());
        }
        let [_, _, dim] = fixed.dims();
        Some(sincos_2d(grid, dim, prefix_in(fixed), &fixed.device()))
    }

    pub(crate) fn final_norm(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        maybe_norm(&self.norm, x)
    }
}

impl<B: VitBackend> VisionModel<B> for VisionTransformer<B> {
    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        VisionTransformer::forward_intermediates(self, images, options)
    }

    fn feature_info(&self) -> Vec<FeatureInfo> {
        VisionTransformer::feature_info(self)
    }

    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        VisionTransformer::prune_intermediate_layers(self, indices, prune_norm, prune_head)
    }

    /// timm's `features_only` for ViTs: the last 3 blocks, NCHW.
    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat) {
        (
            FeatureIndices::Last(3.min(self.blocks.len().max(1))),
            FeatureFormat::Nchw,
        )
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        VisionTransformer::check_input(self, dims)
    }

    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        VisionTransformer::forward_pre_logits(self, images)
    }

    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        VisionTransformer::forward(self, images)
    }

    fn forward_train(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        VisionTransformer::forward_train(self, images)
    }

    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        VisionTransformer::forward_features(self, images).into_data()
    }

    fn num_classes(&self) -> usize {
        self.head
            .as_ref()
            .map_or(0, |head| head.weight.lazy_shape()[1])
    }

    fn num_features(&self) -> usize {
        self.patch_embed.embed_dim()
    }

    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String> {
        let dim = self.patch_embed.embed_dim();
        let fresh = || (num_classes > 0).then(|| timm_linear(dim, num_classes, true, device));
        self.head = fresh();
        let mut heads = vec!["head"];
        if self.dist_token.is_some() {
            self.head_dist = fresh();
            heads.push("head_dist");
        }
        if num_classes == 0 {
            return Vec::new();
        }
        heads
            .iter()
            .flat_map(|p| [format!("{p}.weight"), format!("{p}.bias")])
            .collect()
    }

    fn enable_dynamic_img_size(&mut self) -> bool {
        self.dynamic_img_size = true;
        true
    }

    fn attention_weights(&self, images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        let [_, _, h, w] = images.dims();
        // Pixels per token side: a hybrid's stem multiplies the patch size by its stride.
        let patch_size = self.patch_embed.pixel_stride();
        Ok(AttentionWeights {
            layers: self.forward_blocks(images, true).attentions,
            num_prefix: self.num_prefix_tokens,
            class_token: self.cls_token.is_some(),
            grid: self.patch_embed.grid_for([h, w]),
            patch_size,
        })
    }

    fn patch_filters(&self) -> Result<PatchFilters> {
        self.patch_embed.linear_filters()
    }

    fn patch_positions(&self) -> Result<PatchPositions> {
        let grid = self.grid_size();
        let Some(pos) = self.position_embedding(grid) else {
            return Err(VitError::Unsupported {
                operation: "the position embedding".into(),
                family: "vit".into(),
                reason: "this model is built with `pos_embed: none`".into(),
            });
        };
        let [_, tokens, dim] = pos.dims();
        let patches = grid[0] * grid[1];
        let vectors = pos
            .slice([0..1, tokens - patches..tokens, 0..dim])
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| VitError::InvalidConfig {
                field: "pos_embed".into(),
                reason: format!("{e:?}"),
            })?;
        Ok(PatchPositions {
            vectors,
            grid,
            dim,
            learned: self.pos_embed.is_some() || self.pos_embed_y.is_some(),
        })
    }
}
