//! Resampling a position embedding to another patch grid exactly as timm does
//! (`resample_abs_pos_embed`): PyTorch's `F.interpolate(mode="bicubic", antialias=True,
//! align_corners=False)` on the grid tokens, the prefix (class) tokens kept apart.
//!
//! The interpolation is separable, so it is two small weight matrices applied with matmuls: the
//! same code resamples a checkpoint at load time and the live parameter at run time (dynamic image
//! size), on any backend and under autodiff.

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

/// The interpolation of a position-embedding resample (PyTorch's `F.interpolate` mode).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum InterpMode {
    /// Cubic convolution (timm's default for ViT position embeddings).
    #[default]
    Bicubic,
    /// Linear in each axis (NaFlexViT's SigLIP2 and C-RADIO tables).
    Bilinear,
}

/// How a position table is resampled to another grid, as `F.interpolate` is called on it:
/// timm's ViT uses bicubic with antialiasing; NaFlexViT makes each part a choice and can keep
/// the aspect ratio (resample to a square of the longer side, then keep the top-left crop).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosEmbedResample {
    /// Bicubic or bilinear.
    pub mode: InterpMode,
    /// Antialiasing when shrinking (the filter stretched over the input).
    pub antialias: bool,
    /// PyTorch's `align_corners` (without antialiasing).
    pub align_corners: bool,
    /// Resample to `L × L`, `L` the longer side of the grid, then crop the top-left `rows × cols`.
    pub ar_preserving: bool,
}

impl Default for PosEmbedResample {
    /// timm's `resample_abs_pos_embed`: bicubic, antialiased, corners not aligned.
    fn default() -> Self {
        Self {
            mode: InterpMode::Bicubic,
            antialias: true,
            align_corners: false,
            ar_preserving: false,
        }
    }
}

impl PosEmbedResample {
    /// The `[output, input]` matrix (row-major) resampling one axis.
    ///
    /// # Panics
    /// For bicubic without antialiasing, which no supported model uses (configs refuse it).
    pub fn weights(&self, input: usize, output: usize) -> Vec<f32> {
        match (self.mode, self.antialias) {
            (InterpMode::Bicubic, true) => {
                aa_weights(input, output, self.align_corners, 2.0, bicubic_aa_filter)
            }
            (InterpMode::Bilinear, true) => {
                aa_weights(input, output, self.align_corners, 1.0, triangle_filter)
            }
            (InterpMode::Bilinear, false) => linear_weights(input, output, self.align_corners),
            (InterpMode::Bicubic, false) => {
                unreachable!("bicubic resampling without antialiasing is refused by the configs")
            }
        }
    }

    /// The matrix taking an axis of `input` positions to `output` ones, with the aspect ratio
    /// kept: the rows of the resample to `square` (the longer side) that the crop keeps.
    fn axis(&self, input: usize, output: usize, square: usize) -> Vec<f32> {
        if !self.ar_preserving {
            return self.weights(input, output);
        }
        let mut w = self.weights(input, square);
        w.truncate(output * input);
        w
    }
}

/// PyTorch's source scale for an axis (`area_pixel_compute_scale`).
fn source_scale(input: usize, output: usize, align_corners: bool) -> f64 {
    if align_corners {
        if output > 1 {
            (input as f64 - 1.0) / (output as f64 - 1.0)
        } else {
            0.0
        }
    } else {
        input as f64 / output as f64
    }
}

/// The triangle filter of PyTorch's antialiased bilinear interpolation.
fn triangle_filter(x: f64) -> f64 {
    (1.0 - x.abs()).max(0.0)
}

/// PyTorch's antialiased weights (`_upsample_*_aa`): the filter, of half-width `support` input
/// positions, stretched by the scale when shrinking; rows normalised to sum to 1.
fn aa_weights(
    input: usize,
    output: usize,
    align_corners: bool,
    support: f64,
    filter: fn(f64) -> f64,
) -> Vec<f32> {
    let scale = source_scale(input, output, align_corners);
    let (support, inv_scale) = if scale >= 1.0 {
        (support * scale, 1.0 / scale)
    } else {
        (support, 1.0)
    };
    let mut weights = vec![0.0f32; output * input];
    for i in 0..output {
        let center = scale * (i as f64 + 0.5);
        // Truncation toward zero, as the C++ casts do.
        let lo = ((center - support + 0.5) as i64).max(0) as usize;
        let hi = ((center + support + 0.5) as i64).min(input as i64) as usize;
        let row: Vec<f64> = (lo..hi)
            .map(|j| filter((j as f64 - center + 0.5) * inv_scale))
            .collect();
        let total: f64 = row.iter().sum();
        for (j, w) in (lo..hi).zip(row) {
            weights[i * input + j] = if total != 0.0 { w / total } else { w } as f32;
        }
    }
    weights
}

/// PyTorch's (bi)linear weights without antialiasing (`upsample_bilinear2d`, `linear`): each
/// output position between its two nearest inputs.
fn linear_weights(input: usize, output: usize, align_corners: bool) -> Vec<f32> {
    let scale = source_scale(input, output, align_corners);
    let mut weights = vec![0.0f32; output * input];
    for i in 0..output {
        let src = if align_corners {
            scale * i as f64
        } else {
            (scale * (i as f64 + 0.5) - 0.5).max(0.0)
        };
        let i0 = (src as usize).min(input - 1);
        let i1 = (i0 + 1).min(input - 1);
        let l1 = src - i0 as f64;
        weights[i * input + i0] += (1.0 - l1) as f32;
        weights[i * input + i1] += l1 as f32;
    }
    weights
}

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
    aa_weights(input, output, false, 2.0, bicubic_aa_filter)
}

/// Resamples grid tokens `[batch, rows·cols, dim]` (row-major) from grid `from` to grid `to`
/// as timm's ViT does (bicubic, antialiased).
pub fn resample_grid<B: VitBackend>(
    tokens: Tensor<B, 3>,
    from: [usize; 2],
    to: [usize; 2],
) -> Tensor<B, 3> {
    resample_grid_with(tokens, from, to, &PosEmbedResample::default())
}

/// [`resample_grid`] with the interpolation `how` (an unchanged grid is left as it is).
pub fn resample_grid_with<B: VitBackend>(
    tokens: Tensor<B, 3>,
    from: [usize; 2],
    to: [usize; 2],
    how: &PosEmbedResample,
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
    let square = to[0].max(to[1]);
    let matrix = |input: usize, output: usize| {
        Tensor::<B, 2>::from_data(
            TensorData::new(how.axis(input, output, square), [output, input]),
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

/// A 1-D table `[1, length, dim]` resampled to `output` positions as NaFlexViT's factorised
/// embedding does (`F.interpolate(mode='linear', align_corners=False)`), optionally to
/// `square` positions first and cropped (aspect-preserving).
pub fn resample_line<B: VitBackend>(
    table: Tensor<B, 3>,
    output: usize,
    square: Option<usize>,
) -> Tensor<B, 3> {
    let [_, input, dim] = table.dims();
    let target = square.unwrap_or(output);
    if target == input {
        return table.narrow(1, 0, output);
    }
    let mut w = linear_weights(input, target, false);
    w.truncate(output * input);
    let matrix = Tensor::<B, 2>::from_data(TensorData::new(w, [output, input]), &table.device());
    matrix
        .matmul(table.reshape([input, dim]))
        .reshape([1, output, dim])
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
