//! DeiT with distillation (Touvron et al. 2021): a ViT with a second prefix token whose output
//! feeds a second head — timm's `VisionTransformerDistilled`. (DeiT without distillation, and
//! DeiT III, are plain ViTs: see [`crate::presets`].)

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Tensor, backend::Backend};
use vit_core::error::{Result, VitError};
use vit_core::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use vit_core::pooling::GlobalPool;
use vit_core::pos_embed::{PosEmbedKind, sincos_2d};
use vit_core::{VisionTransformer, VisionTransformerConfig};

/// Configuration of a [`DistilledVisionTransformer`]: the ViT it extends (class-token pooling).
#[derive(Config, Debug, PartialEq)]
pub struct DeitConfig {
    /// The underlying ViT; its position embedding is widened by one token for the distillation token.
    pub vit: VisionTransformerConfig,
}

/// A ViT with a distillation token and head. Parameter names are timm's, with the ViT's under
/// `vit.` (`vit.blocks.0.attn.qkv`, `dist_token`, `head_dist`).
#[derive(Module, Debug)]
pub struct DistilledVisionTransformer<B: Backend> {
    /// The ViT: patch embedding, class token, position embedding (covering both tokens), blocks,
    /// norm and the class head.
    pub vit: VisionTransformer<B>,
    /// The distillation token `[1, 1, dim]`, after the class token.
    pub dist_token: Param<Tensor<B, 3>>,
    /// Classifier on the distillation token's output (absent when `num_classes = 0`).
    pub head_dist: Option<Linear<B>>,
}

/// Tokens before the patches in a distilled DeiT: class and distillation.
pub const DEIT_PREFIX_TOKENS: usize = 2;

impl DeitConfig {
    /// Checks the ViT config and that it pools by class token, as the distilled heads need.
    pub fn validate(&self) -> Result<()> {
        self.vit.validate()?;
        if !self.vit.class_token || self.vit.global_pool != GlobalPool::Token {
            return Err(VitError::InvalidConfig {
                field: "vit.global_pool".into(),
                reason: "distilled DeiT reads the class and distillation tokens: needs \
                         `class_token = true` and `global_pool = token`"
                    .into(),
            });
        }
        Ok(())
    }

    /// Builds the model after [`Self::validate`] (distillation token trunc-normal(0.02), as timm).
    pub fn try_init<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<DistilledVisionTransformer<B>> {
        self.validate()?;
        let mut vit = self.vit.try_init::<B>(device)?;
        let d = self.vit.embed_dim;
        let [gh, gw] = self.vit.grid_size()?;
        let prefix = if self.vit.no_embed_class {
            0
        } else {
            DEIT_PREFIX_TOKENS
        };
        match self.vit.pos_embed {
            PosEmbedKind::Learn => {
                let shape = [1, gh * gw + prefix, d];
                vit.pos_embed = Some(lazy_param(shape, device, move |device| {
                    trunc_normal_timm(shape, TIMM_INIT_STD, device)
                }));
            }
            PosEmbedKind::Sincos => {
                vit.pos_embed_fixed = Some(sincos_2d([gh, gw], d, prefix, device))
            }
            PosEmbedKind::None => {}
        }
        vit.num_prefix_tokens = DEIT_PREFIX_TOKENS;
        Ok(DistilledVisionTransformer {
            vit,
            dist_token: lazy_param([1, 1, d], device, move |device| {
                trunc_normal_timm([1, 1, d], TIMM_INIT_STD, device)
            }),
            head_dist: (self.vit.num_classes > 0)
                .then(|| timm_linear(d, self.vit.num_classes, true, device)),
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config; use [`Self::try_init`] for configs that come from users.
    pub fn init<B: Backend>(&self, device: &B::Device) -> DistilledVisionTransformer<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<B: Backend> DistilledVisionTransformer<B> {
    /// Inference logits: the mean of the class head's and the distillation head's.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    /// [`Self::forward`] after the ViT's input check.
    pub fn try_forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 2>> {
        self.vit.check_input(images.dims())?;
        Ok(self.forward(images))
    }

    /// Training outputs: `(class-head logits, distillation-head logits)`, trained against the
    /// labels and the teacher respectively.
    pub fn forward_train(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (cls, dist) = self.heads(self.forward_features(images));
        match (&self.vit.head, &self.head_dist) {
            (Some(head), Some(head_dist)) => (head.forward(cls), head_dist.forward(dist)),
            _ => (cls, dist),
        }
    }

    /// All tokens `[batch, 2 + patches, dim]` after the final norm (class, distillation, patches).
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let batch = images.dims()[0];
        let dim = self.dist_token.val().dims()[2];
        let dist = self.dist_token.val().expand([batch, 1, dim]);
        self.vit.forward_tokens(images, vec![dist])
    }

    /// Mean of the two heads' logits; with `pre_logits`, the mean of the two tokens' outputs.
    pub fn forward_head(&self, features: Tensor<B, 3>, pre_logits: bool) -> Tensor<B, 2> {
        let (cls, dist) = self.heads(features);
        match (&self.vit.head, &self.head_dist, pre_logits) {
            (Some(head), Some(head_dist), false) => {
                (head.forward(cls) + head_dist.forward(dist)) / 2.0
            }
            _ => (cls + dist) / 2.0,
        }
    }

    /// The class and distillation tokens' outputs after head dropout, `[batch, dim]` each.
    fn heads(&self, features: Tensor<B, 3>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let [b, _, d] = features.dims();
        let token = |i: usize| {
            let t = features.clone().narrow(1, i, 1).reshape([b, d]);
            self.vit.head_drop.forward(t)
        };
        (token(0), token(1))
    }
}
