//! Softmax over the last dimension of a row-major buffer, and its backward pass.

use std::mem::MaybeUninit;

use crate::kernels::math;
use crate::kernels::parallel::for_row_blocks;
use crate::kernels::simd::multiversion;

multiversion! {
    fn softmax_rows_block(x: &[f32], y: &mut [MaybeUninit<f32>], d: usize) {
        for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let max = math::max(x);
            for (y, &x) in y.iter_mut().zip(x) {
                y.write(math::exp(x - max));
            }
            // SAFETY: every element was written just above.
            let y = unsafe { &mut *(y as *mut [MaybeUninit<f32>] as *mut [f32]) };
            // A row of -inf (fully masked) gives NaN, as the composed softmax does.
            let inv = 1.0 / math::sum(y);
            for y in y.iter_mut() {
                *y *= inv;
            }
        }
    }
}

multiversion! {
    fn softmax_backward_block(y: &[f32], grad: &[f32], dx: &mut [MaybeUninit<f32>], d: usize) {
        for ((y, g), dx) in y.chunks_exact(d).zip(grad.chunks_exact(d)).zip(dx.chunks_exact_mut(d)) {
            let dot = math::dot(y, g);
            for ((dx, &y), &g) in dx.iter_mut().zip(y).zip(g) {
                dx.write(y * (g - dot));
            }
        }
    }
}

/// `y = softmax(x)` over rows of `d` elements.
pub fn softmax(x: &[f32], y: &mut [MaybeUninit<f32>], d: usize) {
    assert_eq!(x.len(), y.len(), "softmax: input and output lengths differ");
    for_row_blocks(y, d, |row, y| {
        softmax_rows_block(&x[row * d..][..y.len()], y, d)
    });
}

/// `dx = y ⊙ (grad − Σ grad⊙y)` per row, from the softmax output `y`.
pub fn softmax_backward(y: &[f32], grad: &[f32], dx: &mut [MaybeUninit<f32>], d: usize) {
    assert!(
        y.len() == dx.len() && grad.len() == dx.len(),
        "softmax_backward: buffer lengths differ"
    );
    for_row_blocks(dx, d, |row, dx| {
        let at = row * d;
        softmax_backward_block(&y[at..][..dx.len()], &grad[at..][..dx.len()], dx, d)
    });
}
