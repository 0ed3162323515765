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

/// Expands to one loop per activation (the `match` outside the loop, so that each loop
/// vectorises without a branch inside).
macro_rules! per_activation {
    ($act:expr, |$a:ident| $body:block) => {
        match $act {
            crate::Activation::Gelu => {
                let $a = crate::Activation::Gelu;
                $body
            }
            crate::Activation::GeluTanh => {
                let $a = crate::Activation::GeluTanh;
                $body
            }
            crate::Activation::QuickGelu => {
                let $a = crate::Activation::QuickGelu;
                $body
            }
            crate::Activation::Silu => {
                let $a = crate::Activation::Silu;
                $body
            }
        }
    };
}

multiversion! {
    fn activation_block(act: crate::Activation, x: &[f32], y: &mut [MaybeUninit<f32>]) {
        per_activation!(act, |a| {
            for (y, &x) in y.iter_mut().zip(x) {
                y.write(a.apply(x));
            }
        })
    }
}

multiversion! {
    fn activation_backward_block(
        act: crate::Activation,
        x: &[f32],
        grad: &[f32],
        dx: &mut [MaybeUninit<f32>],
    ) {
        per_activation!(act, |a| {
            for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(grad) {
                dx.write(g * a.derivative(x));
            }
        })
    }
}

multiversion! {
    fn glu_block(
        act: crate::Activation,
        gate: &[f32],
        value: &[f32],
        y: &mut [MaybeUninit<f32>],
    ) {
        per_activation!(act, |a| {
            for ((y, &g), &v) in y.iter_mut().zip(gate).zip(value) {
                y.write(a.apply(g) * v);
            }
        })
    }
}

multiversion! {
    fn glu_dgate_block(
        act: crate::Activation,
        gate: &[f32],
        value: &[f32],
        grad: &[f32],
        dgate: &mut [MaybeUninit<f32>],
    ) {
        per_activation!(act, |a| {
            for (((dg, &g), &v), &o) in dgate.iter_mut().zip(gate).zip(value).zip(grad) {
                dg.write(o * v * a.derivative(g));
            }
        })
    }
}

multiversion! {
    fn glu_dvalue_block(
        act: crate::Activation,
        gate: &[f32],
        grad: &[f32],
        dvalue: &mut [MaybeUninit<f32>],
    ) {
        per_activation!(act, |a| {
            for ((dv, &g), &o) in dvalue.iter_mut().zip(gate).zip(grad) {
                dv.write(o * a.apply(g));
            }
        })
    }
}

/// `y = act(gate) ⊙ value` (the gated linear unit of SwiGLU). All buffers have one length.
pub fn glu(act: crate::Activation, gate: &[f32], value: &[f32], y: &mut [MaybeUninit<f32>]) {
    assert!(
        gate.len() == y.len() && value.len() == y.len(),
        "glu: buffer lengths differ"
    );
    for_row_blocks(y, BLOCK, |start, y| {
        let at = start * BLOCK;
        glu_block(act, &gate[at..][..y.len()], &value[at..][..y.len()], y)
    });
}

/// Gradients of [`glu`]: `dgate = grad ⊙ value ⊙ act'(gate)`, `dvalue = grad ⊙ act(gate)` (two
/// passes, one per output buffer).
pub fn glu_backward(
    act: crate::Activation,
    gate: &[f32],
    value: &[f32],
    grad: &[f32],
    dgate: &mut [MaybeUninit<f32>],
    dvalue: &mut [MaybeUninit<f32>],
) {
    let n = grad.len();
    assert!(
        gate.len() == n && value.len() == n && dgate.len() == n && dvalue.len() == n,
        "glu_backward: buffer lengths differ"
    );
    for_row_blocks(dgate, BLOCK, |start, dg| {
        let at = start * BLOCK;
        let len = dg.len();
        glu_dgate_block(
            act,
            &gate[at..][..len],
            &value[at..][..len],
            &grad[at..][..len],
            dg,
        )
    });
    for_row_blocks(dvalue, BLOCK, |start, dv| {
        let at = start * BLOCK;
        let len = dv.len();
        glu_dvalue_block(act, &gate[at..][..len], &grad[at..][..len], dv)
    });
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
