//! Position embeddings: learned 1D (timm's `pos_embed`), fixed 2D sin-cos, or none.

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

/// Which position embedding a ViT adds to its tokens.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PosEmbedKind {
    /// A learned parameter `[1, tokens, dim]`, trunc-normal(0.02) at init (timm's `'learn'`).
    #[default]
    Learn,
    /// The fixed 2D sin-cos table of [`sincos_2d`]: a constant, never trained nor saved.
    Sincos,
    /// No position embedding.
    None,
    /// NaFlexViT's factorised embedding: a learned row table `pos_embed_y [1, rows, dim]` and a
    /// column table `pos_embed_x [1, cols, dim]`, summed per patch (patches only).
    Factorized,
}

/// Temperature of the sin-cos frequencies (as in "Attention is all you need", MAE, MoCo v3).
pub const SINCOS_TEMPERATURE: f64 = 10_000.0;

/// The fixed 2D sin-cos position embedding for a `[rows, cols]` grid, `[rows·cols, dim]`
/// row-major, as timm's `build_sincos2d_pos_embed` (defaults) computes it.
///
/// With `q = dim / 4` frequencies `ω_k = 1 / T^(k/q)`, the token at row `r`, column `c` gets
/// `[sin(r·ω), cos(r·ω), sin(c·ω), cos(c·ω)]`, each block `q` wide. `dim` must be a multiple of 4.
pub fn sincos_2d_values(grid: [usize; 2], dim: usize, temperature: f64) -> Vec<f32> {
    assert!(
        dim.is_multiple_of(4),
        "sin-cos embedding dim {dim} must be a multiple of 4"
    );
    let q = dim / 4;
    let omegas: Vec<f64> = (0..q)
        .map(|k| 1.0 / temperature.powf(k as f64 / q as f64))
        .collect();
    let mut out = Vec::with_capacity(grid[0] * grid[1] * dim);
    for r in 0..grid[0] {
        for c in 0..grid[1] {
            for pos in [r as f64, c as f64] {
                out.extend(omegas.iter().map(|w| (pos * w).sin() as f32));
                out.extend(omegas.iter().map(|w| (pos * w).cos() as f32));
            }
        }
    }
    out
}

/// [`sincos_2d_values`] as a tensor `[1, prefix + rows·cols, dim]`, with zeros for the
/// `prefix` tokens (class/distillation tokens get no position, as in MAE).
pub fn sincos_2d<B: VitBackend>(
    grid: [usize; 2],
    dim: usize,
    prefix: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let mut values = vec![0.0f32; prefix * dim];
    values.extend(sincos_2d_values(grid, dim, SINCOS_TEMPERATURE));
    let tokens = prefix + grid[0] * grid[1];
    Tensor::from_data(TensorData::new(values, [1, tokens, dim]), device)
}
