//! RMSNorm over the last dimension (`x/√(mean(x²) + eps)·γ`, timm's `RmsNorm`), and its backward
//! pass.

use std::mem::MaybeUninit;

use crate::kernels::math;
use crate::kernels::parallel::{for_row_blocks, sum_over_row_blocks};
use crate::kernels::simd::multiversion;

/// `1/√(mean(x²) + eps)` of one row.
#[inline(always)]
fn row_rstd(x: &[f32], eps: f32) -> f32 {
    let mean_square = math::lane_sum(x.len(), |i| x[i] * x[i]) / x.len() as f32;
    1.0 / (mean_square + eps).sqrt()
}

multiversion! {
    fn rms_norm_block(x: &[f32], gamma: &[f32], eps: f32, y: &mut [MaybeUninit<f32>]) {
        let d = gamma.len();
        for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let rstd = row_rstd(x, eps);
            for ((y, &x), &g) in y.iter_mut().zip(x).zip(gamma) {
                y.write(x * rstd * g);
            }
        }
    }
}

multiversion! {
    fn rms_norm_backward_block(
        x: &[f32],
        gamma: &[f32],
        grad: &[f32],
        eps: f32,
        dx: &mut [MaybeUninit<f32>],
    ) {
        let d = gamma.len();
        let rows = x.chunks_exact(d).zip(grad.chunks_exact(d)).zip(dx.chunks_exact_mut(d));
        for ((x, g), dx) in rows {
            let rstd = row_rstd(x, eps);
            // dx = rstd·(ĝ − x̂·mean(ĝ⊙x̂)), ĝ = g⊙γ, x̂ = x·rstd.
            let mean_gx = math::lane_sum(d, |i| g[i] * gamma[i] * x[i] * rstd) / d as f32;
            for (i, dx) in dx.iter_mut().enumerate() {
                dx.write(rstd * (g[i] * gamma[i] - x[i] * rstd * mean_gx));
            }
        }
    }
}

multiversion! {
    fn weight_grads_block(x: &[f32], grad: &[f32], eps: f32, dgamma: &mut [f32]) {
        let d = dgamma.len();
        for (x, g) in x.chunks_exact(d).zip(grad.chunks_exact(d)) {
            let rstd = row_rstd(x, eps);
            for ((dg, &x), &g) in dgamma.iter_mut().zip(x).zip(g) {
                *dg += g * x * rstd;
            }
        }
    }
}

/// `y = x/√(mean(x²) + eps)·γ` over rows of `gamma.len()` elements.
pub fn rms_norm(x: &[f32], gamma: &[f32], eps: f32, y: &mut [MaybeUninit<f32>]) {
    let d = gamma.len();
    assert_eq!(x.len(), y.len(), "rms_norm: buffer lengths differ");
    for_row_blocks(y, d, |row, y| {
        rms_norm_block(&x[row * d..][..y.len()], gamma, eps, y)
    });
}

/// Gradients of [`rms_norm`]: `dx` written in place, `dγ` returned.
pub fn rms_norm_backward(
    x: &[f32],
    gamma: &[f32],
    grad: &[f32],
    eps: f32,
    dx: &mut [MaybeUninit<f32>],
) -> Vec<f32> {
    let d = gamma.len();
    assert!(
        x.len() == dx.len() && grad.len() == dx.len(),
        "rms_norm_backward: buffer lengths differ"
    );
    for_row_blocks(dx, d, |row, dx| {
        let at = row * d;
        rms_norm_backward_block(
            &x[at..][..dx.len()],
            gamma,
            &grad[at..][..dx.len()],
            eps,
            dx,
        )
    });
    sum_over_row_blocks(x, grad, d, |x, g| {
        let mut dgamma = vec![0.0; d];
        weight_grads_block(x, g, eps, &mut dgamma);
        dgamma
    })
}
