//! CaiT: self-attention blocks with talking heads over the patches only, then class-attention
//! blocks in which a class token gathers them; LayerScale on every branch (timm's `Cait`, same
//! keys).

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Tensor, TensorData};
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};
use vit_core::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use vit_core::layers::class_attention::{ClassAttn, ClassAttnConfig};
use vit_core::layers::drop_path::DropPath;
use vit_core::layers::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use vit_core::layers::mlp::{Mlp, MlpConfig};
use vit_core::layers::norm::{Norm, maybe_norm};
use vit_core::layers::patch_embed::{PatchEmbed, PatchEmbedConfig};
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::resample::resample_abs_pos_embed;
use vit_core::model::VisionModel;

use crate::cait::config::{CAIT_FAMILY, CaitConfig};
use crate::cait::talking_heads::{TalkingHeadAttn, TalkingHeadAttnConfig};
use crate::late_class_token::{
    block_feature_info, default_feature_maps, patch_block_intermediates, pooled_head,
};

/// A LayerScale vector `[dim]` at `value` (CaiT's and XCiT's `gamma_*`, parameters of the
/// block itself).
pub fn layer_scale<B: VitBackend>(
    dim: usize,
    value: f64,
    device: &B::Device,
) -> Param<Tensor<B, 1>> {
    lazy_param([dim], device, move |device| {
        Tensor::full([dim], value, device)
    })
}

/// `gamma · x` over the last axis.
pub fn scaled<B: VitBackend, const D: usize>(
    gamma: &Param<Tensor<B, 1>>,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    let dim = x.dims()[D - 1];
    let mut shape = [1; D];
    shape[D - 1] = dim;
    x * gamma.val().reshape(shape)
}

/// A self-attention block (timm's `LayerScaleBlock`).
#[derive(Module, Debug)]
pub struct CaitBlock<B: VitBackend> {
    /// Norm before attention.
    pub norm1: Norm<B>,
    /// Talking-heads attention.
    pub attn: TalkingHeadAttn<B>,
    /// Norm before the MLP.
    pub norm2: Norm<B>,
    /// The MLP.
    pub mlp: Mlp<B>,
    /// LayerScale of the attention branch.
    pub gamma_1: Param<Tensor<B, 1>>,
    /// LayerScale of the MLP branch.
    pub gamma_2: Param<Tensor<B, 1>>,
    /// Stochastic depth of both branches.
    pub drop_path: DropPath,
}

impl<B: VitBackend> CaitBlock<B> {
    /// `x [batch, patches, dim]` → same shape, with the attention weights when asked.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let (attn, weights) = self
            .attn
            .forward(self.norm1.forward(x.clone()), need_weights);
        let x = x + self.drop_path.forward(scaled(&self.gamma_1, attn));
        let mlp = self.mlp.forward(self.norm2.forward(x.clone()));
        (
            x + self.drop_path.forward(scaled(&self.gamma_2, mlp)),
            weights,
        )
    }
}

/// A class-attention block (timm's `LayerScaleBlockClassAttn`): only the class token changes.
#[derive(Module, Debug)]
pub struct CaitClassBlock<B: VitBackend> {
    /// Norm of `[class token, patches]` before attention.
    pub norm1: Norm<B>,
    /// Class attention.
    pub attn: ClassAttn<B>,
    /// Norm of the class token before the MLP.
    pub norm2: Norm<B>,
    /// The MLP.
    pub mlp: Mlp<B>,
    /// LayerScale of the attention branch.
    pub gamma_1: Param<Tensor<B, 1>>,
    /// LayerScale of the MLP branch.
    pub gamma_2: Param<Tensor<B, 1>>,
}

impl<B: VitBackend> CaitClassBlock<B> {
    /// The class token `[batch, 1, dim]` updated from the patches `x [batch, N, dim]`.
    pub fn forward(&self, x: &Tensor<B, 3>, cls: Tensor<B, 3>) -> Tensor<B, 3> {
        let u = Tensor::cat(vec![cls.clone(), x.clone()], 1);
        let (attn, _) = self.attn.forward(self.norm1.forward(u), false);
        let cls = cls + scaled(&self.gamma_1, attn);
        let mlp = self.mlp.forward(self.norm2.forward(cls.clone()));
        cls + scaled(&self.gamma_2, mlp)
    }
}

/// A CaiT.
#[derive(Module, Debug)]
pub struct Cait<B: VitBackend> {
    /// Patch embedding.
    pub patch_embed: PatchEmbed<B>,
    /// The class token `[1, 1, dim]`, joined after the self-attention blocks (absent once pruned
    /// with its head).
    pub cls_token: Option<Param<Tensor<B, 3>>>,
    /// Learned position embedding of the patches `[1, patches, dim]` (none for the class token).
    pub pos_embed: Param<Tensor<B, 3>>,
    /// Dropout after the position embedding.
    pub pos_drop: Dropout,
    /// The self-attention blocks.
    pub blocks: Vec<CaitBlock<B>>,
    /// The class-attention blocks.
    pub blocks_token_only: Vec<CaitClassBlock<B>>,
    /// The final norm (absent once pruned).
    pub norm: Option<Norm<B>>,
    /// Dropout before the head.
    pub head_drop: Dropout,
    /// The classifier (absent when `num_classes = 0`).
    pub head: Option<Linear<B>>,
    /// How the features are pooled.
    pub global_pool: GlobalPool,
    /// The grid `pos_embed` is stored at.
    pub pos_grid: [usize; 2],
    /// Inputs of any size of whole patches (the position embedding resampled).
    pub dynamic_img_size: bool,
}

impl CaitConfig {
    /// Builds the model after [`Self::validate`], with timm's initialisation.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<Cait<B>> {
        self.validate()?;
        vit_core::memory::check_weights_fit(self, "depth / embed_dim")?;
        let d = self.embed_dim;
        let grid = self.grid();
        let norm = || self.norm_layer.init(d, self.norm_eps, device);
        let mlp = |ratio: f64, drop: f64| {
            MlpConfig::new(d, (d as f64 * ratio) as usize)
                .with_act(self.act_layer)
                .with_drop(drop)
                .init(device)
        };
        let patches = grid[0] * grid[1];
        let blocks = (0..self.depth)
            .map(|_| CaitBlock {
                norm1: norm(),
                attn: TalkingHeadAttnConfig::new(d, self.num_heads)
                    .with_qkv_bias(self.qkv_bias)
                    .with_attn_drop(self.attn_drop_rate)
                    .with_proj_drop(self.proj_drop_rate)
                    .init(device),
                norm2: norm(),
                mlp: mlp(self.mlp_ratio, self.proj_drop_rate),
                gamma_1: layer_scale(d, self.init_values, device),
                gamma_2: layer_scale(d, self.init_values, device),
                drop_path: DropPath::new(self.drop_path_rate),
            })
            .collect();
        let blocks_token_only = (0..self.depth_token_only)
            .map(|_| CaitClassBlock {
                norm1: norm(),
                attn: ClassAttnConfig::new(d, self.num_heads)
                    .with_qkv_bias(self.qkv_bias)
                    .init(device),
                norm2: norm(),
                mlp: mlp(self.mlp_ratio_token_only, 0.0),
                gamma_1: layer_scale(d, self.init_values, device),
                gamma_2: layer_scale(d, self.init_values, device),
            })
            .collect();
        Ok(Cait {
            patch_embed: PatchEmbedConfig::new()
                .with_img_size(self.img_size)
                .with_patch_size(self.patch_size)
                .with_in_chans(self.in_chans)
                .with_embed_dim(d)
                .try_init(device)?,
            cls_token: Some(lazy_param([1, 1, d], device, move |device| {
                trunc_normal_timm([1, 1, d], TIMM_INIT_STD, device)
            })),
            pos_embed: lazy_param([1, patches, d], device, move |device| {
                trunc_normal_timm([1, patches, d], TIMM_INIT_STD, device)
            }),
            pos_drop: DropoutConfig::new(self.pos_drop_rate).init(),
            blocks,
            blocks_token_only,
            norm: Some(norm()),
            head_drop: DropoutConfig::new(self.drop_rate).init(),
            head: (self.num_classes > 0).then(|| timm_linear(d, self.num_classes, true, device)),
            global_pool: self.global_pool,
            pos_grid: grid,
            dynamic_img_size: self.dynamic_img_size,
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config; use [`Self::try_init`] for configs that come from users.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Cait<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<B: VitBackend> Cait<B> {
    /// The position embedding for a patch `grid` (resampled as timm's ViT for another grid).
    pub fn position_embedding(&self, grid: [usize; 2]) -> Tensor<B, 3> {
        resample_abs_pos_embed(self.pos_embed.val(), self.pos_grid, grid, 0)
    }

    /// The patches with their position embedding, `[batch, patches, dim]`, and their grid.
    fn embed(&self, images: Tensor<B, 4>) -> (Tensor<B, 3>, [usize; 2]) {
        let [_, _, h, w] = images.dims();
        let grid = self.patch_embed.grid_for([h, w]);
        let x = self.patch_embed.forward(images) + self.position_embedding(grid);
        (self.pos_drop.forward(x), grid)
    }

    /// The class token through the class-attention blocks, prepended to the patches (as they
    /// are when the class token was pruned).
    fn with_class_token(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let Some(cls) = &self.cls_token else {
            return x;
        };
        let [b, _, d] = x.dims();
        let mut cls = cls.val().expand([b, 1, d]);
        for block in &self.blocks_token_only {
            cls = block.forward(&x, cls);
        }
        Tensor::cat(vec![cls, x], 1)
    }

    /// All tokens `[batch, 1 + patches, dim]` after both kinds of block and the final norm.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let (mut x, _) = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, false).0;
        }
        maybe_norm(&self.norm, self.with_class_token(x))
    }

    /// Pools the features (the class token, or the patches' mean) and applies the head.
    pub fn forward_head(&self, features: Tensor<B, 3>, pre_logits: bool) -> Tensor<B, 2> {
        pooled_head(
            features,
            self.global_pool,
            self.cls_token.is_some(),
            &self.head_drop,
            &self.head,
            pre_logits,
        )
    }

    fn unsupported(operation: &str, reason: &str) -> VitError {
        VitError::Unsupported {
            operation: operation.into(),
            family: CAIT_FAMILY.into(),
            reason: reason.into(),
        }
    }
}

impl<B: VitBackend> VisionModel<B> for Cait<B> {
    fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        self.patch_embed.check_size(
            dims,
            self.dynamic_img_size,
            "; build it with `dynamic_img_size = true` to run other sizes",
        )
    }

    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), true)
    }

    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        Cait::forward_features(self, images).into_data()
    }

    fn num_classes(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.weight.lazy_shape()[1])
    }

    fn num_features(&self) -> usize {
        self.patch_embed.embed_dim()
    }

    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String> {
        let d = self.patch_embed.embed_dim();
        self.head = (num_classes > 0).then(|| timm_linear(d, num_classes, true, device));
        if num_classes == 0 {
            return Vec::new();
        }
        vec!["head.weight".into(), "head.bias".into()]
    }

    fn enable_dynamic_img_size(&mut self) -> bool {
        self.dynamic_img_size = true;
        true
    }

    /// The self-attention blocks' talking-heads weights (those that multiply the values, rows
    /// mixed across heads) over the patches; no class token takes part in them.
    fn attention_weights(&self, images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        self.check_input(images.dims())?;
        let (mut x, grid) = self.embed(images);
        let mut layers = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (out, weights) = block.forward(x, true);
            layers.extend(weights);
            x = out;
        }
        Ok(AttentionWeights {
            layers,
            num_prefix: 0,
            class_token: false,
            grid,
            patch_size: self.patch_embed.pixel_stride(),
        })
    }

    fn patch_positions(&self) -> Result<PatchPositions> {
        let pos = self.pos_embed.val();
        let [_, n, dim] = pos.dims();
        let vectors = pos
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| Self::unsupported("the position embedding", &format!("{e:?}")))?;
        debug_assert_eq!(n, self.pos_grid[0] * self.pos_grid[1]);
        Ok(PatchPositions {
            vectors,
            grid: self.pos_grid,
            dim,
            learned: true,
        })
    }

    fn patch_filters(&self) -> Result<PatchFilters> {
        self.patch_embed.linear_filters()
    }

    /// The self-attention blocks' outputs on the patch grid (timm's `forward_intermediates`:
    /// the class token joins only later, so there are no prefix tokens to return).
    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        self.check_input(images.dims())?;
        let (x, grid) = self.embed(images);
        patch_block_intermediates(
            x,
            grid,
            self.blocks.len(),
            options,
            &self.norm,
            |i, x| self.blocks[i].forward(x, false).0,
            |x| self.with_class_token(x),
        )
    }

    fn feature_info(&self) -> Vec<FeatureInfo> {
        block_feature_info(
            self.blocks.len(),
            self.patch_embed.embed_dim(),
            self.patch_embed.pixel_stride(),
        )
    }

    /// Drops the blocks after the last of `indices`; with `prune_head` the class token, its
    /// blocks and the head (pooling becomes the patches' mean); with `prune_norm` the norm.
    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        let (take, max) = indices.resolve(self.blocks.len())?;
        self.blocks.truncate(max + 1);
        if prune_norm {
            self.norm = None;
        }
        if prune_head {
            self.cls_token = None;
            self.blocks_token_only.clear();
            self.head = None;
            self.global_pool = GlobalPool::Avg;
        }
        Ok(take)
    }

    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat) {
        default_feature_maps(self.blocks.len())
    }
}
