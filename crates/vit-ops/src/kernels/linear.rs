//! `y = x·W + b` and its gradients as 2-D GEMMs on the `gemm` crate (AVX-512 micro-kernels when
//! the CPU has them), reading transposed operands through strides instead of copying them.

use std::mem::MaybeUninit;

use gemm::Parallelism;

/// Products smaller than this many multiply-adds run on one thread: below it the hand-off to
/// rayon costs more than it saves (the main job's 64-wide layers are ~10⁵–10⁶).
const PARALLEL_MIN_MACS: usize = 1 << 18;

/// A matrix read from a slice through strides: `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    rs: isize,
    cs: isize,
}

impl<'a> Strided<'a> {
    /// A row-major `rows × cols` matrix.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: cols as isize,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: cols as isize,
        }
    }
}

/// `dst[m×n] (+)= lhs[m×k] · rhs[k×n]`, `dst` row-major; `accumulate` adds to what `dst` holds.
///
/// # Safety
/// `dst` points to `m·n` writable elements (initialised when `accumulate`); `lhs`/`rhs` cover
/// their strided extents (checked by the callers' length asserts).
unsafe fn gemm_into(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    accumulate: bool,
    lhs: Strided<'_>,
    rhs: Strided<'_>,
) {
    if m == 0 || n == 0 {
        return;
    }
    let parallelism = if m * n * k >= PARALLEL_MIN_MACS {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    };
    // SAFETY: upheld by the caller; gemm reads/writes only inside the described extents.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs,
            lhs.rs,
            rhs.data.as_ptr(),
            rhs.cs,
            rhs.rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

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
            m,
            n,
            k,
            y.as_mut_ptr().cast(),
            bias.is_some(),
            Strided::rows(x, k),
            Strided::rows(w, n),
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
    // SAFETY: capacities reserved above; gemm overwrites every element (no accumulate), and the
    // lengths are set only afterwards. A zero-sized inner dimension is handled by zero-filling.
    unsafe {
        if n == 0 {
            dx.resize(m * k, 0.0);
        } else {
            gemm_into(
                m,
                k,
                n,
                dx.as_mut_ptr(),
                false,
                Strided::rows(grad, n),
                Strided::transposed(w, n),
            );
            dx.set_len(m * k);
        }
        if m == 0 {
            dw.resize(k * n, 0.0);
        } else {
            gemm_into(
                k,
                n,
                m,
                dw.as_mut_ptr(),
                false,
                Strided::transposed(x, k),
                Strided::rows(grad, n),
            );
            dw.set_len(k * n);
        }
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
