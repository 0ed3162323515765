//! The one GEMM call behind Linear and attention: the `gemm` crate (AVX-512 micro-kernels when
//! the CPU has them), with operands read through strides so transposes and column blocks of a
//! wider buffer are never copied.

use gemm::Parallelism;

/// Products smaller than this many multiply-adds run on one thread: below it the hand-off to
/// rayon costs more than it saves (the main job's 64-wide layers are ~10⁵–10⁶).
const PARALLEL_MIN_MACS: usize = 1 << 18;

/// A matrix read from a slice through strides: `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct Strided<'a> {
    /// The elements, from `(0, 0)` on.
    pub data: &'a [f32],
    /// Distance between rows.
    pub rs: usize,
    /// Distance between columns.
    pub cs: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix whose rows are `rs` apart.
    pub fn rows(data: &'a [f32], rs: usize) -> Self {
        Self { data, rs, cs: 1 }
    }

    /// The transpose of a row-major matrix whose rows are `rs` apart.
    pub fn transposed(data: &'a [f32], rs: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: rs,
        }
    }

    /// Whether a `rows × cols` matrix fits in `data`.
    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// Whether to split a product of `macs` multiply-adds over rayon's threads.
pub fn parallelism(macs: usize, allow: bool) -> Parallelism {
    if allow && macs >= PARALLEL_MIN_MACS && rayon::current_num_threads() > 1 {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    }
}

/// `dst[m×n] (+)= scale · lhs[m×k] · rhs[k×n]`; `dst`'s rows are `dst_rs` apart, its columns
/// adjacent; `accumulate` adds to what `dst` holds.
///
/// # Safety
/// `dst` points to a writable `m × n` matrix with row stride `dst_rs` (initialised when
/// `accumulate`), not aliased by `lhs` or `rhs` nor written by another thread meanwhile.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_into(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: Strided<'_>,
    rhs: Strided<'_>,
    scale: f32,
    parallelism: Parallelism,
) {
    assert!(
        lhs.covers(m, k) && rhs.covers(k, n),
        "gemm: operands smaller than {m}×{k}·{k}×{n}"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                // SAFETY: row `i` of `dst` is writable (caller's contract).
                unsafe { std::ptr::write_bytes(dst.add(i * dst_rs), 0, n) };
            }
        }
        return;
    }
    // SAFETY: extents checked above; `dst` per the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        )
    }
}
