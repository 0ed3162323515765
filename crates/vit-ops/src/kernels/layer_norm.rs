//! LayerNorm over the last dimension (two-pass variance, like PyTorch), and its backward pass.

use std::mem::MaybeUninit;

use crate::kernels::math;
use crate::kernels::parallel::{for_row_blocks, sum_over_row_blocks};
use crate::kernels::simd::multiversion;

/// Mean and `1/√(var + eps)` of one row.
#[inline(always)]
fn row_stats(x: &[f32], eps: f32) -> (f32, f32) {
    let d = x.len() as f32;
    let mean = math::sum(x) / d;
    let var = math::lane_sum(x.len(), |i| (x[i] - mean) * (x[i] - mean)) / d;
    (mean, 1.0 / (var + eps).sqrt())
}

multiversion! {
    fn layer_norm_block(
        x: &[f32],
        gamma: &[f32],
        beta: Option<&[f32]>,
        eps: f32,
        y: &mut [MaybeUninit<f32>],
    ) {
        let d = gamma.len();
        for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let (mean, rstd) = row_stats(x, eps);
            match beta {
                Some(beta) => {
                    for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
                        y.write((x - mean) * rstd * g + b);
                    }
                }
                None => {
                    for ((y, &x), &g) in y.iter_mut().zip(x).zip(gamma) {
                        y.write((x - mean) * rstd * g);
                    }
                }
            }
        }
    }
}

multiversion! {
    fn layer_norm_backward_block(
        x: &[f32],
        gamma: &[f32],
        grad: &[f32],
        eps: f32,
        dx: &mut [MaybeUninit<f32>],
    ) {
        let d = gamma.len();
        let rows = x.chunks_exact(d).zip(grad.chunks_exact(d)).zip(dx.chunks_exact_mut(d));
        for ((x, g), dx) in rows {
            let (mean, rstd) = row_stats(x, eps);
            let inv_d = 1.0 / d as f32;
            // dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), ĝ = g⊙γ, x̂ the normalised input.
            let mean_g = math::lane_sum(d, |i| g[i] * gamma[i]) * inv_d;
            let mean_gx = math::lane_sum(d, |i| g[i] * gamma[i] * (x[i] - mean) * rstd) * inv_d;
            for (i, dx) in dx.iter_mut().enumerate() {
                let xhat = (x[i] - mean) * rstd;
                dx.write(rstd * (g[i] * gamma[i] - mean_g - xhat * mean_gx));
            }
        }
    }
}

multiversion! {
    fn affine_grads_block(x: &[f32], grad: &[f32], eps: f32, dgamma: &mut [f32], dbeta: &mut [f32]) {
        let d = dgamma.len();
        for (x, g) in x.chunks_exact(d).zip(grad.chunks_exact(d)) {
            let (mean, rstd) = row_stats(x, eps);
            for (((dg, db), &x), &g) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(x).zip(g) {
                *dg += g * (x - mean) * rstd;
                *db += g;
            }
        }
    }
}

/// `y = (x − mean)/√(var + eps)·γ + β` over rows of `gamma.len()` elements.
pub fn layer_norm(
    x: &[f32],
    gamma: &[f32],
    beta: Option<&[f32]>,
    eps: f32,
    y: &mut [MaybeUninit<f32>],
) {
    let d = gamma.len();
    assert!(
        x.len() == y.len() && beta.is_none_or(|b| b.len() == d),
        "layer_norm: buffer lengths differ"
    );
    for_row_blocks(y, d, |row, y| {
        layer_norm_block(&x[row * d..][..y.len()], gamma, beta, eps, y)
    });
}

/// Gradients of [`layer_norm`]: `dx` written in place, `(dγ, dβ)` returned.
pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    eps: f32,
    dx: &mut [MaybeUninit<f32>],
) -> (Vec<f32>, Vec<f32>) {
    let d = gamma.len();
    assert!(
        x.len() == dx.len() && grad.len() == dx.len(),
        "layer_norm_backward: buffer lengths differ"
    );
    for_row_blocks(dx, d, |row, dx| {
        let at = row * d;
        layer_norm_backward_block(
            &x[at..][..dx.len()],
            gamma,
            &grad[at..][..dx.len()],
            eps,
            dx,
        )
    });
    // dγ and dβ side by side in one buffer, summed over fixed row blocks in order.
    let mut sums = sum_over_row_blocks(x, grad, d, |x, g| {
        let (mut dgamma, mut dbeta) = (vec![0.0; d], vec![0.0; d]);
        affine_grads_block(x, g, eps, &mut dgamma, &mut dbeta);
        dgamma.extend(dbeta);
        dgamma
    });
    let dbeta = sums.split_off(d);
    (sums, dbeta)
}
