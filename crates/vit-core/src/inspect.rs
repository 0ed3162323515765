//! What a model looks at, as data: every block's attention weights with the token layout needed
//! to read them as maps, and the position embedding of the patch grid. Models produce them
//! through [`crate::model::VisionModel`]; vit-viz turns them into pictures.

use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::error::{Result, VitError};

/// The attention weights of one forward pass and how to read them.
#[derive(Debug, Clone)]
pub struct AttentionWeights<B: VitBackend> {
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

impl<B: VitBackend> AttentionWeights<B> {
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

/// The linear patch-embedding filters: what each token dimension reads from a patch of pixels
/// (the ViT paper's "RGB embedding filters").
#[derive(Debug, Clone)]
pub struct PatchFilters {
    /// `[filters, channels, patch_h, patch_w]`, row-major (PyTorch's Conv2d layout).
    pub weights: Vec<f32>,
    /// Filters (the embedding width).
    pub filters: usize,
    /// Input channels.
    pub channels: usize,
    /// Patch `[height, width]` in pixels.
    pub patch: [usize; 2],
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
