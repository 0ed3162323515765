//! Swin as a backbone: its 4-stage pyramid (strides 4, 8, 16, 32 at timm's sizes) — timm's
//! `forward_intermediates` / `prune_intermediate_layers` for `SwinTransformer`.

use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::error::Result;
use vit_core::features::{
    FeatureIndices, FeatureInfo, FeatureMap, Intermediates, IntermediatesOptions,
};

use crate::swin::model::{SwinStage, SwinTransformer};

impl<B: VitBackend> SwinStage<B> {
    /// Channels of the stage's output.
    pub fn dim(&self) -> Option<usize> {
        match (&self.downsample, self.blocks.first()) {
            (Some(merge), _) => Some(merge.reduction.weight.lazy_shape()[1]),
            (None, Some(block)) => Some(block.norm1.gamma.lazy_shape()[0]),
            (None, None) => None,
        }
    }
}

impl<B: VitBackend> SwinTransformer<B> {
    /// The outputs of the stages `options.indices` names (`[batch, dim, H, W]` in NCHW) and the
    /// final features; timm's `forward_intermediates` (with `norm`, the final norm is applied to
    /// the last stage's map only: it is sized for it). Prefix tokens do not exist here.
    pub fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        self.check_input(images.dims())?;
        let (take, max) = options.indices.resolve(self.layers.len())?;
        let last_stage = self.layers.len() - 1;
        let last = if options.stop_early { max } else { last_stage };
        let mut x = self.embed(images);
        let mut maps = Vec::with_capacity(take.len());
        for (i, stage) in self.layers[..=last].iter().enumerate() {
            x = stage.forward(x);
            if take.contains(&i) {
                let y = if options.norm && i == last_stage {
                    self.final_norm(x.clone())
                } else {
                    x.clone()
                };
                maps.push(FeatureMap::from_nhwc(y, options.output_fmt));
            }
        }
        let features = if last == last_stage {
            self.final_norm(x)
        } else {
            x
        };
        Ok(Intermediates {
            maps,
            prefix_tokens: Vec::new(),
            features: FeatureMap::Spatial(features),
        })
    }

    /// One entry per stage: its channels and stride (`patch_size · 2^stage`).
    pub fn feature_info(&self) -> Vec<FeatureInfo> {
        let mut channels = self.patch_embed.embed_dim();
        self.layers
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                channels = stage.dim().unwrap_or(channels);
                FeatureInfo {
                    num_chs: channels,
                    reduction: self.patch_embed.patch_size << i,
                    module: format!("layers.{i}"),
                }
            })
            .collect()
    }

    /// Drops the stages after the last of `indices`; the classifier when `prune_head` or when
    /// stages were dropped (it is sized for the last one), the final norm likewise or when
    /// `prune_norm`. Returns the absolute indices (timm's `prune_intermediate_layers`).
    pub fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        let (take, max) = indices.resolve(self.layers.len())?;
        let prune_end = max + 1 < self.layers.len();
        self.layers.truncate(max + 1);
        if prune_norm || prune_end {
            self.apply_norm = false;
        }
        if prune_head || prune_end {
            self.head.fc = None;
        }
        Ok(take)
    }
}
