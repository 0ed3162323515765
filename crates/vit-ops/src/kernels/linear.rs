//! `y = x·W + b` and its gradients as 2-D GEMMs on the `gemm` crate (AVX-512 micro-kernels when
//! the CPU has them), reading transposed operands through strides instead of copying them.

use std::mem::MaybeUninit;

use crate::kernels::gemm::{Strided, gemm_into, parallelism};

/// `y[m×n] = x[m×k]·w[k×n] + bias` (Burn's Linear layout: `w` is `[in, out]`).
pub fn linear(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    (m, k, n): (usize, usize, usize),
    y: &mut [MaybeUninit<f32>],
) {
    assert!(
        x.len() == m * k
            && w.len() == k * n
            && y.len() == m * n
            && bias.is_none_or(|b| b.len() == n),
        "linear: buffer lengths do not match {m}×{k}·{k}×{n}"
    );
    if let Some(bias) = bias {
        // The bias seeds the output, and the product accumulates onto it: no separate pass.
        for row in y.chunks_exact_mut(n.max(1)) {
            for (y, &b) in row.iter_mut().zip(bias) {
                y.write(b);
            }
        }
    }
    // SAFETY: lengths checked above; `y` is initialised when it is accumulated into.
    unsafe {
        gemm_into(
            (m, n, k),
            y.as_mut_ptr().cast(),
            n,
            bias.is_some(),
            Strided::rows(x, k),
            Strided::rows(w, n),
            1.0,
            parallelism(m * n * k, true),
        )
    }
}

/// Gradients of [`linear`] for the output gradient `grad[m×n]`: `(dx[m×k], dw[k×n], db[n])`.
pub fn linear_backward(
    x: &[f32],
    w: &[f32],
    grad: &[f32],
    (m, k, n): (usize, usize, usize),
    with_bias: bool,
) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    assert!(
        x.len() == m * k && w.len() == k * n && grad.len() == m * n,
        "linear_backward: buffer lengths do not match {m}×{k}·{k}×{n}"
    );
    let mut dx = Vec::with_capacity(m * k);
    let mut dw = Vec::with_capacity(k * n);
    let par = parallelism(m * n * k, true);
    // SAFETY: capacities reserved above; gemm overwrites every element (no accumulate; a zero
    // inner dimension writes zeros), and the lengths are set only afterwards.
    unsafe {
        gemm_into(
            (m, k, n),
            dx.as_mut_ptr(),
            k,
            false,
            Strided::rows(grad, n),
            Strided::transposed(w, n),
            1.0,
            par,
        );
        dx.set_len(m * k);
        gemm_into(
            (k, n, m),
            dw.as_mut_ptr(),
            n,
            false,
            Strided::transposed(x, k),
            Strided::rows(grad, n),
            1.0,
            par,
        );
        dw.set_len(k * n);
    }
    let db = with_bias.then(|| {
        let mut db = vec![0.0; n];
        for row in grad.chunks_exact(n.max(1)) {
            db.iter_mut().zip(row).for_each(|(d, &g)| *d += g);
        }
        db
    });
    (dx, dw, db)
}
