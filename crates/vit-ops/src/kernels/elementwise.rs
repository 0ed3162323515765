//! GELU (exact) and its derivative over contiguous buffers.

use std::mem::MaybeUninit;

use crate::kernels::math;
use crate::kernels::parallel::for_row_blocks;
use crate::kernels::simd::multiversion;

/// Elements per parallel block of the element-wise kernels.
const BLOCK: usize = 4096;

multiversion! {
    fn gelu_block(x: &[f32], y: &mut [MaybeUninit<f32>]) {
        for (y, &x) in y.iter_mut().zip(x) {
            y.write(math::gelu(x));
        }
    }
}

multiversion! {
    fn gelu_backward_block(x: &[f32], grad: &[f32], dx: &mut [MaybeUninit<f32>]) {
        for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(grad) {
            dx.write(g * math::gelu_derivative(x));
        }
    }
}

/// `y = gelu(x)`, exact (erf) form. `y` must be as long as `x`.
pub fn gelu(x: &[f32], y: &mut [MaybeUninit<f32>]) {
    assert_eq!(x.len(), y.len(), "gelu: input and output lengths differ");
    for_row_blocks(y, BLOCK, |start, y| {
        gelu_block(&x[start * BLOCK..][..y.len()], y)
    });
}

/// `dx = grad · gelu'(x)`. All three buffers have the same length.
pub fn gelu_backward(x: &[f32], grad: &[f32], dx: &mut [MaybeUninit<f32>]) {
    assert!(
        x.len() == dx.len() && grad.len() == dx.len(),
        "gelu_backward: buffer lengths differ"
    );
    for_row_blocks(dx, BLOCK, |start, dx| {
        let at = start * BLOCK;
        gelu_backward_block(&x[at..][..dx.len()], &grad[at..][..dx.len()], dx)
    });
}
