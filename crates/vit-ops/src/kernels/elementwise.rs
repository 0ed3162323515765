//! Activations and their derivatives over contiguous buffers: exact GELU, and the ones of
//! [`crate::Activation`] (tanh GELU, QuickGELU, SiLU).

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

multiversion! {
    fn activation_block(act: crate::Activation, x: &[f32], y: &mut [MaybeUninit<f32>]) {
        // One loop per activation, so that each vectorises without a branch inside.
        match act {
            crate::Activation::GeluTanh => {
                for (y, &x) in y.iter_mut().zip(x) {
                    y.write(math::gelu_tanh(x));
                }
            }
            crate::Activation::QuickGelu | crate::Activation::Silu => {
                let k = act.sigmoid_scale();
                for (y, &x) in y.iter_mut().zip(x) {
                    y.write(math::sigmoid_linear(x, k));
                }
            }
        }
    }
}

multiversion! {
    fn activation_backward_block(
        act: crate::Activation,
        x: &[f32],
        grad: &[f32],
        dx: &mut [MaybeUninit<f32>],
    ) {
        match act {
            crate::Activation::GeluTanh => {
                for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(grad) {
                    dx.write(g * math::gelu_tanh_derivative(x));
                }
            }
            crate::Activation::QuickGelu | crate::Activation::Silu => {
                let k = act.sigmoid_scale();
                for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(grad) {
                    dx.write(g * math::sigmoid_linear_derivative(x, k));
                }
            }
        }
    }
}

/// `y = act(x)`. `y` must be as long as `x`.
pub fn activation(act: crate::Activation, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    assert_eq!(
        x.len(),
        y.len(),
        "activation: input and output lengths differ"
    );
    for_row_blocks(y, BLOCK, |start, y| {
        activation_block(act, &x[start * BLOCK..][..y.len()], y)
    });
}

/// `dx = grad · act'(x)`. All three buffers have the same length.
pub fn activation_backward(
    act: crate::Activation,
    x: &[f32],
    grad: &[f32],
    dx: &mut [MaybeUninit<f32>],
) {
    assert!(
        x.len() == dx.len() && grad.len() == dx.len(),
        "activation_backward: buffer lengths differ"
    );
    for_row_blocks(dx, BLOCK, |start, dx| {
        let at = start * BLOCK;
        activation_backward_block(act, &x[at..][..dx.len()], &grad[at..][..dx.len()], dx)
    });
}
