//! The ViT as a backbone: per-block feature maps on the patch grid (timm's
//! `forward_intermediates` / `prune_intermediate_layers` for `VisionTransformer`).

use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::error::Result;
use crate::features::{
    FeatureIndices, FeatureInfo, FeatureMap, Intermediates, IntermediatesOptions,
};
use crate::layers::pooling::GlobalPool;
use crate::vit::model::VisionTransformer;

impl<B: VitBackend> VisionTransformer<B> {
    /// The outputs of the blocks `options.indices` names as maps on the patch grid
    /// (`[batch, dim, rows, cols]` in NCHW), the prefix tokens split off, and the final
    /// features; timm's `forward_intermediates` (with `norm`, the final norm is applied to every
    /// map; a model whose final norm is `fc_norm` has none to apply).
    pub fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        self.check_input(images.dims())?;
        let (take, max) = options.indices.resolve(self.blocks.len())?;
        let [batch, _, h, w] = images.dims();
        let grid = self.patch_embed.grid_for([h, w]);
        let prefix = self.num_prefix_tokens;
        let last = if options.stop_early {
            max
        } else {
            self.blocks.len() - 1
        };
        let (mut x, positions) = self.embed_positioned(images);
        let mut maps = Vec::with_capacity(take.len());
        let mut prefix_tokens = Vec::new();
        for (i, block) in self.blocks[..=last].iter().enumerate() {
            x = block.forward_at(x, positions.block(i), false).0;
            if !take.contains(&i) {
                continue;
            }
            let y = if options.norm {
                self.final_norm(x.clone())
            } else {
                x.clone()
            };
            let [_, tokens, dim] = y.dims();
            if prefix > 0 && options.return_prefix_tokens {
                prefix_tokens.push(y.clone().narrow(1, 0, prefix));
            }
            let patches = y
                .narrow(1, prefix, tokens - prefix)
                .reshape([batch, grid[0], grid[1], dim]);
            maps.push(FeatureMap::from_nhwc(patches, options.output_fmt));
        }
        Ok(Intermediates {
            maps,
            prefix_tokens,
            features: FeatureMap::Tokens(self.final_norm(x)),
        })
    }

    /// One entry per block: `embed_dim` channels at the patch stride (timm's `feature_info`).
    pub fn feature_info(&self) -> Vec<FeatureInfo> {
        (0..self.blocks.len())
            .map(|i| FeatureInfo {
                num_chs: self.patch_embed.embed_dim(),
                reduction: self.patch_embed.pixel_stride(),
                module: format!("blocks.{i}"),
            })
            .collect()
    }

    /// Drops the blocks after the last of `indices`, the classifier(s) and their pooling when
    /// `prune_head`, and the final norm when `prune_norm`; returns the absolute indices (timm's
    /// `prune_intermediate_layers`).
    pub fn prune_intermediate_layers(
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
            self.fc_norm = None;
            self.head = None;
            self.head_dist = None;
            if self.attn_pool.take().is_some() {
                // Without the attention pool, pooled features fall back to the mean.
                self.global_pool = GlobalPool::Avg;
            }
        }
        Ok(take)
    }
}
