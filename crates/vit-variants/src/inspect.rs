//! What a ViT or DeiT looks at: every block's attention weights with the token layout needed to
//! read them as maps, and the position embedding of the patch grid. Swin has neither a class
//! token nor a global patch grid, so these are errors for it.

use burn::tensor::{Tensor, backend::Backend};
use vit_core::{Result, VisionTransformer, VitError};

use crate::zoo::ZooModel;

/// The attention weights of one forward pass and how to read them.
#[derive(Debug, Clone)]
pub struct AttentionWeights<B: Backend> {
    /// Every block's weights `[batch, heads, tokens, tokens]`, first block first.
    pub layers: Vec<Tensor<B, 4>>,
    /// Tokens before the patches (class token, DeiT's distillation token).
    pub num_prefix: usize,
    /// Whether token 0 is a class token.
    pub class_token: bool,
    /// The patch grid `[rows, cols]` of the input.
    pub grid: [usize; 2],
    /// Patch side in pixels.
    pub patch_size: usize,
}

/// One image's attention, read back from the device.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageAttention {
    /// Every block's weights `[heads, tokens, tokens]` (row-major), first block first.
    pub layers: Vec<Vec<f32>>,
    /// Heads per block.
    pub heads: usize,
    /// Tokens (prefix + patches).
    pub tokens: usize,
}

impl<B: Backend> AttentionWeights<B> {
    /// The weights of image `index` of the batch, as plain numbers per block.
    pub fn image(&self, index: usize) -> Result<ImageAttention> {
        let invalid = |reason: String| VitError::InvalidConfig {
            field: "depth".into(),
            reason,
        };
        let first = self
            .layers
            .first()
            .ok_or_else(|| invalid("the model has no transformer blocks (depth 0)".into()))?;
        let [batch, heads, tokens, _] = first.dims();
        if index >= batch {
            return Err(VitError::InputShape {
                expected: format!("an image index below {batch}"),
                found: vec![index],
            });
        }
        let layers = self
            .layers
            .iter()
            .map(|a| {
                a.clone()
                    .narrow(0, index, 1)
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .map_err(|e| invalid(format!("{e:?}")))
            })
            .collect::<Result<_>>()?;
        Ok(ImageAttention {
            layers,
            heads,
            tokens,
        })
    }
}

/// The position embedding of the patch tokens.
#[derive(Debug, Clone)]
pub struct PatchPositions {
    /// `[rows · cols, dim]`, row-major over the grid.
    pub vectors: Vec<f32>,
    /// The grid `[rows, cols]`.
    pub grid: [usize; 2],
    /// Embedding width.
    pub dim: usize,
    /// `true` for a learned embedding, `false` for the fixed sin-cos one.
    pub learned: bool,
}

/// The ViT inside a ViT or DeiT (whose `num_prefix_tokens` counts the distillation token).
fn vit_of<'a, B: Backend>(
    model: &'a ZooModel<B>,
    operation: &str,
) -> Result<&'a VisionTransformer<B>> {
    match model {
        ZooModel::Vit(m) => Ok(m),
        ZooModel::Deit(m) => Ok(&m.vit),
        ZooModel::Swin(_) => Err(VitError::Unsupported {
            operation: operation.into(),
            family: "swin".into(),
            reason: "Swin attends within shifted windows, without a class token or a global \
                     patch grid; use a ViT or DeiT model"
                .into(),
        }),
    }
}

impl<B: Backend> ZooModel<B> {
    /// Runs `images` keeping every block's attention weights (ViT and DeiT).
    pub fn attention_weights(&self, images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        let vit = vit_of(self, "attention maps")?;
        let [_, _, h, w] = images.dims();
        let patch_size = vit.patch_embed.patch_size;
        let layers = match self {
            ZooModel::Deit(m) => {
                let dim = m.dist_token.val().dims()[2];
                let dist = m.dist_token.val().expand([images.dims()[0], 1, dim]);
                vit.forward_intermediates_with_prefix(images, vec![dist], true)
            }
            _ => vit.forward_intermediates(images, true),
        }
        .attentions;
        Ok(AttentionWeights {
            layers,
            num_prefix: vit.num_prefix_tokens,
            class_token: vit.cls_token.is_some(),
            grid: [h / patch_size, w / patch_size],
            patch_size,
        })
    }

    /// The position embedding of the patch tokens (prefix tokens left out), ViT and DeiT.
    pub fn patch_positions(&self) -> Result<PatchPositions> {
        let vit = vit_of(self, "the position embedding")?;
        let grid = vit.grid_size();
        let Some(pos) = vit.position_embedding(grid) else {
            return Err(VitError::Unsupported {
                operation: "the position embedding".into(),
                family: if matches!(self, ZooModel::Deit(_)) {
                    "deit"
                } else {
                    "vit"
                }
                .into(),
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
            learned: vit.pos_embed.is_some(),
        })
    }
}
