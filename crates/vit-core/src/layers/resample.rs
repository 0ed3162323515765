//! Resampling a position embedding to another patch grid exactly as timm does
//! (`resample_abs_pos_embed`): PyTorch's `F.interpolate(mode="bicubic", antialias=True,
//! align_corners=False)` on the grid tokens, the prefix (class) tokens kept apart.
//!
//! The interpolation is separable, so it is two small weight matrices applied with matmuls: the
//! same code resamples a checkpoint at load time and the live parameter at run time (dynamic image
//! size), on any backend and under autodiff.

use burn::tensor::{Tensor, TensorData};
use vit_ops::VitBackend;

/// PyTorch's antialiased bicubic filter: Keys' cubic convolution with `a = -0.5` (as PIL), not
/// the `a = -0.75` of non-antialiased bicubic.
fn bicubic_aa_filter(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// The `[output, input]` matrix (row-major) that resamples one axis of length `input` to
/// `output`, as PyTorch's antialiased bicubic interpolation computes its weights: when shrinking,
/// the filter is stretched by the scale so every input contributes (the antialiasing).
pub fn bicubic_aa_weights(input: usize, output: usize) -> Vec<f32> {
    let scale = input as f64 / output as f64;
    let support = if scale >= 1.0 { 2.0 * scale } else { 2.0 };
    let inv_scale = if scale >= 1.0 { 1.0 / scale } else { 1.0 };
    let mut weights = vec![0.0f32; output * input];
    for i in 0..output {
        let center = scale * (i as f64 + 0.5);
        // Truncation toward zero, as the C++ casts do.
        let lo = ((center - support + 0.5) as i64).max(0) as usize;
        let hi = ((center + support + 0.5) as i64).min(input as i64) as usize;
        let row: Vec<f64> = (lo..hi)
            .map(|j| bicubic_aa_filter((j as f64 - center + 0.5) * inv_scale))
            .collect();
        let total: f64 = row.iter().sum();
        for (j, w) in (lo..hi).zip(row) {
            weights[i * input + j] = if total != 0.0 { w / total } else { w } as f32;
        }
    }
    weights
}

/// Resamples grid tokens `[batch, rows·cols, dim]` (row-major) from grid `from` to grid `to`.
pub fn resample_grid<B: VitBackend>(
    tokens: Tensor<B, 3>,
    from: [usize; 2],
    to: [usize; 2],
) -> Tensor<B, 3> {
    if from == to {
        return tokens;
    }
    let [batch, n, dim] = tokens.dims();
    assert_eq!(
        n,
        from[0] * from[1],
        "resample_grid: {n} tokens do not form a {from:?} grid"
    );
    let device = tokens.device();
    let matrix = |input: usize, output: usize| {
        Tensor::<B, 2>::from_data(
            TensorData::new(bicubic_aa_weights(input, output), [output, input]),
            &device,
        )
    };
    let planes = batch * dim;
    // [B, H·W, D] -> [B·D, H, W]: one image plane per channel.
    let x = tokens.swap_dims(1, 2).reshape([planes, from[0], from[1]]);
    let rows = matrix(from[0], to[0])
        .unsqueeze::<3>()
        .expand([planes, to[0], from[0]]);
    let cols = matrix(from[1], to[1])
        .transpose()
        .unsqueeze::<3>()
        .expand([planes, from[1], to[1]]);
    rows.matmul(x)
        .matmul(cols)
        .reshape([batch, dim, to[0] * to[1]])
        .swap_dims(1, 2)
}

/// timm's `resample_abs_pos_embed`: the first `num_prefix_tokens` tokens of `pos_embed`
/// `[1, prefix + rows·cols, dim]` are kept as they are, the rest are resampled from grid `from`
/// to grid `to`.
pub fn resample_abs_pos_embed<B: VitBackend>(
    pos_embed: Tensor<B, 3>,
    from: [usize; 2],
    to: [usize; 2],
    num_prefix_tokens: usize,
) -> Tensor<B, 3> {
    if from == to {
        return pos_embed;
    }
    let [batch, n, dim] = pos_embed.dims();
    let grid = pos_embed
        .clone()
        .slice([0..batch, num_prefix_tokens..n, 0..dim]);
    let grid = resample_grid(grid, from, to);
    if num_prefix_tokens == 0 {
        grid
    } else {
        let prefix = pos_embed.slice([0..batch, 0..num_prefix_tokens, 0..dim]);
        Tensor::cat(vec![prefix, grid], 1)
    }
}
