//! Splitting row-wise work over rayon's threads, only where the work pays for the hand-off.

use rayon::prelude::*;

/// Below this many elements a kernel runs on the calling thread: a rayon hand-off costs a few
/// microseconds, as much as the whole op on a small tensor (the main job's are ~1–70 K elements).
pub const PARALLEL_MIN_ELEMENTS: usize = 32 * 1024;

/// Calls `f(first_row, rows_out)` on consecutive blocks of whole rows of `out`
/// (rows of `row_len` elements), in parallel when `out` is large.
pub fn for_row_blocks<T: Send>(
    out: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let rows = out.len() / row_len.max(1);
    if out.len() < PARALLEL_MIN_ELEMENTS || rows < 2 {
        f(0, out);
        return;
    }
    let threads = rayon::current_num_threads().max(1);
    // A few blocks per thread evens out uneven rows without paying per-row overhead.
    let block_rows = rows.div_ceil(threads * 4).max(1);
    out.par_chunks_mut(block_rows * row_len)
        .enumerate()
        .for_each(|(i, block)| f(i * block_rows, block));
}

/// `Σ partial(x_block, grad_block)` over fixed blocks of whole rows of `x` and `grad` (rows of
/// `row_len`), in parallel when large; the partial sums are added in block order, so the result
/// does not depend on how rayon schedules the blocks (training stays reproducible).
pub fn sum_over_row_blocks(
    x: &[f32],
    grad: &[f32],
    row_len: usize,
    partial: impl Fn(&[f32], &[f32]) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    if x.len() < PARALLEL_MIN_ELEMENTS {
        return partial(x, grad);
    }
    let rows = x.len() / row_len.max(1);
    let block = rows.div_ceil(rayon::current_num_threads().max(1)) * row_len;
    let partials: Vec<Vec<f32>> = x
        .par_chunks(block.max(1))
        .zip(grad.par_chunks(block.max(1)))
        .map(|(x, g)| partial(x, g))
        .collect();
    partials
        .into_iter()
        .reduce(|mut a, b| {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| partial(&[], &[]))
}
