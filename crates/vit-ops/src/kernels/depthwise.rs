//! Depthwise 3×3 convolution (stride 1, zero padding 1) on channels-last tokens `[b, h·w, c]`:
//! XCiT's local patch interaction without turning the tokens channels-first and back. Each
//! output token is its bias plus nine taps, each a per-channel product with a neighbour —
//! contiguous over the channels, so the inner loops vectorise.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::kernels::parallel::{PARALLEL_MIN_ELEMENTS, for_row_blocks};
use crate::kernels::simd::multiversion;

/// The shape of a depthwise convolution's input: `batch` maps of `[height, width]` tokens of
/// `channels` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseDims {
    /// Images.
    pub batch: usize,
    /// Grid rows.
    pub height: usize,
    /// Grid columns.
    pub width: usize,
    /// Channels.
    pub channels: usize,
}

/// `weight [c, 9]` (taps row-major per channel) as `[9, c]`, optionally with the taps reversed
/// (the transposed convolution of the backward pass).
pub fn taps_major(weight: &[f32], channels: usize, reversed: bool) -> Vec<f32> {
    let mut out = vec![0f32; 9 * channels];
    for c in 0..channels {
        for t in 0..9 {
            let tap = if reversed { 8 - t } else { t };
            out[tap * channels + c] = weight[c * 9 + t];
        }
    }
    out
}

multiversion! {
    fn conv_tokens(
        x: &[f32],
        taps: &[f32],
        bias: &[f32],
        dims: DepthwiseDims,
        first: usize,
        out: &mut [MaybeUninit<f32>],
    ) {
        let DepthwiseDims { height, width, channels: c, .. } = dims;
        let per_image = height * width;
        for (k, out) in out.chunks_exact_mut(c).enumerate() {
            let token = first + k;
            let (image, pos) = (token / per_image, token % per_image);
            let (row, col) = (pos / width, pos % width);
            for (i, o) in out.iter_mut().enumerate() {
                o.write(if bias.is_empty() { 0.0 } else { bias[i] });
            }
            // SAFETY: every element was written just above.
            let out: &mut [f32] =
                unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
            for dy in 0..3usize {
                let Some(r) = (row + dy).checked_sub(1).filter(|r| *r < height) else {
                    continue;
                };
                for dx in 0..3usize {
                    let Some(q) = (col + dx).checked_sub(1).filter(|q| *q < width) else {
                        continue;
                    };
                    let src = &x[((image * height + r) * width + q) * c..][..c];
                    let w = &taps[(dy * 3 + dx) * c..][..c];
                    for ((o, &s), &w) in out.iter_mut().zip(src).zip(w) {
                        *o += s * w;
                    }
                }
            }
        }
    }
}

/// `y [b, h·w, c]` = the depthwise convolution of `x` with `weight [c, 9]` plus `bias [c]`
/// (empty: none).
pub fn depthwise_conv3x3(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    dims: DepthwiseDims,
    out: &mut [MaybeUninit<f32>],
) {
    depthwise_with_taps(
        x,
        &taps_major(weight, dims.channels, false),
        bias,
        dims,
        out,
    )
}

/// [`depthwise_conv3x3`] with the taps already `[9, c]`.
pub fn depthwise_with_taps(
    x: &[f32],
    taps: &[f32],
    bias: &[f32],
    dims: DepthwiseDims,
    out: &mut [MaybeUninit<f32>],
) {
    let c = dims.channels;
    assert_eq!(x.len(), out.len(), "depthwise: buffer lengths differ");
    assert_eq!(
        x.len(),
        dims.batch * dims.height * dims.width * c,
        "depthwise: dims"
    );
    for_row_blocks(out, c, |first, out| {
        conv_tokens(x, taps, bias, dims, first, out)
    });
}

multiversion! {
    fn weight_grads_block(
        x: &[f32],
        grad: &[f32],
        dims: DepthwiseDims,
        first: usize,
        acc: &mut [f32],
    ) {
        // acc: [9, c] tap-major, then [c] for the bias.
        let DepthwiseDims { height, width, channels: c, .. } = dims;
        let per_image = height * width;
        let (dw, db) = acc.split_at_mut(9 * c);
        for (k, g) in grad.chunks_exact(c).enumerate() {
            let token = first + k;
            let (image, pos) = (token / per_image, token % per_image);
            let (row, col) = (pos / width, pos % width);
            for (b, &g) in db.iter_mut().zip(g) {
                *b += g;
            }
            for dy in 0..3usize {
                let Some(r) = (row + dy).checked_sub(1).filter(|r| *r < height) else {
                    continue;
                };
                for dx in 0..3usize {
                    let Some(q) = (col + dx).checked_sub(1).filter(|q| *q < width) else {
                        continue;
                    };
                    let src = &x[((image * height + r) * width + q) * c..][..c];
                    let w = &mut dw[(dy * 3 + dx) * c..][..c];
                    for ((w, &s), &g) in w.iter_mut().zip(src).zip(g) {
                        *w += s * g;
                    }
                }
            }
        }
    }
}

/// Gradients of [`depthwise_conv3x3`]: `dx` written in place (the same convolution with the
/// taps reversed), `(dweight [c, 9], dbias [c])` returned.
pub fn depthwise_conv3x3_backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    dims: DepthwiseDims,
    dx: &mut [MaybeUninit<f32>],
) -> (Vec<f32>, Vec<f32>) {
    let c = dims.channels;
    depthwise_with_taps(grad, &taps_major(weight, c, true), &[], dims, dx);
    // Blocks of whole tokens, each summed on its own (its taps read the whole input), the
    // partial sums added in block order: the result does not depend on rayon's scheduling.
    let tokens = grad.len() / c.max(1);
    let partial = |first: usize, g: &[f32]| {
        let mut acc = vec![0f32; 10 * c];
        weight_grads_block(x, g, dims, first, &mut acc);
        acc
    };
    let acc = if grad.len() < PARALLEL_MIN_ELEMENTS || tokens < 2 {
        partial(0, grad)
    } else {
        let block = tokens.div_ceil(rayon::current_num_threads().max(1));
        let partials: Vec<Vec<f32>> = grad
            .par_chunks(block * c)
            .enumerate()
            .map(|(i, g)| partial(i * block, g))
            .collect();
        partials
            .into_iter()
            .reduce(|mut a, b| {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                a
            })
            .unwrap_or_else(|| vec![0f32; 10 * c])
    };
    let (taps, db) = acc.split_at(9 * c);
    let mut dw = vec![0f32; 9 * c];
    for t in 0..9 {
        for ch in 0..c {
            dw[ch * 9 + t] = taps[t * c + ch];
        }
    }
    (dw, db.to_vec())
}
