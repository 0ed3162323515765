//! Multi-head self-attention straight from timm's fused `qkv` buffer `[batch, tokens, 3, heads,
//! head_dim]`: per (image, head), `softmax(scale·q·kᵀ + bias)·v` with q, k, v read through strides
//! and the output written into its column block of `[batch, tokens, heads·head_dim]` — no split,
//! permute or merge copies. One rayon task per (image, head); each GEMM on one thread.

use std::mem::MaybeUninit;

use gemm::Parallelism;
use rayon::prelude::*;

use crate::kernels::gemm::{Strided, gemm_into};
use crate::kernels::math;
use crate::kernels::simd::multiversion;

/// The sizes of one attention call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    /// Images in the batch.
    pub batch: usize,
    /// Tokens per image.
    pub tokens: usize,
    /// Heads.
    pub heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl AttentionDims {
    /// Width of a `qkv` row: `3·heads·head_dim`.
    fn qkv_width(&self) -> usize {
        3 * self.heads * self.head_dim
    }
    /// Width of an output row: `heads·head_dim`.
    fn out_width(&self) -> usize {
        self.heads * self.head_dim
    }
    /// Offset of `(image, part, head)` in the `qkv` buffer (`part`: 0 = q, 1 = k, 2 = v).
    fn qkv_at(&self, image: usize, part: usize, head: usize) -> usize {
        image * self.tokens * self.qkv_width() + (part * self.heads + head) * self.head_dim
    }
    fn scores(&self) -> usize {
        self.tokens * self.tokens
    }
}

/// An additive bias on the scores, `[1 | batch, 1 | heads, tokens, tokens]` row-major.
#[derive(Clone, Copy)]
pub struct ScoreBias<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Whether the leading dimension is the batch (else 1, shared by all images).
    pub per_image: bool,
    /// Whether the second dimension is the heads (else 1, shared by all heads).
    pub per_head: bool,
}

impl<'a> ScoreBias<'a> {
    fn block(self, d: &AttentionDims, image: usize, head: usize) -> &'a [f32] {
        let heads = if self.per_head { d.heads } else { 1 };
        let i =
            if self.per_image { image } else { 0 } * heads + if self.per_head { head } else { 0 };
        &self.data[i * d.scores()..][..d.scores()]
    }
}

/// A pointer that tasks share to write disjoint parts of one buffer.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: every task writes only its own (image, head) blocks; see the callers.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer (a method, so that closures capture the `Sync` wrapper, not the raw field).
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

multiversion! {
    /// Adds `bias` to each row of `scores` and turns the rows into probabilities, in place.
    fn softmax_rows_in_place(scores: &mut [f32], bias: Option<&[f32]>, n: usize) {
        for (r, row) in scores.chunks_exact_mut(n).enumerate() {
            if let Some(bias) = bias {
                for (s, &b) in row.iter_mut().zip(&bias[r * n..][..n]) {
                    *s += b;
                }
            }
            let max = math::max(row);
            for s in row.iter_mut() {
                *s = math::exp(*s - max);
            }
            let inv = 1.0 / math::sum(row);
            for s in row.iter_mut() {
                *s *= inv;
            }
        }
    }
}

multiversion! {
    /// `dS = P ⊙ (dP − Σ_row dP⊙P)`, in place in `dp`.
    fn softmax_grad_in_place(dp: &mut [f32], p: &[f32], n: usize) {
        for (dp, p) in dp.chunks_exact_mut(n).zip(p.chunks_exact(n)) {
            let dot = math::dot(dp, p);
            for (d, &p) in dp.iter_mut().zip(p) {
                *d = p * (*d - dot);
            }
        }
    }
}

/// Forward pass: `out [batch, tokens, heads·head_dim]`, and when `weights` is given the softmax
/// probabilities `[batch, heads, tokens, tokens]` (what the backward pass needs).
pub fn attention(
    qkv: &[f32],
    d: AttentionDims,
    scale: f32,
    bias: Option<ScoreBias<'_>>,
    out: &mut [MaybeUninit<f32>],
    weights: Option<&mut [MaybeUninit<f32>]>,
) {
    let n = d.tokens;
    assert!(
        qkv.len() == d.batch * n * d.qkv_width() && out.len() == d.batch * n * d.out_width(),
        "attention: buffer lengths do not match {d:?}"
    );
    let out_ptr = SharedOut(out.as_mut_ptr().cast());
    let task = |bh: usize, p: &mut [f32]| {
        let (image, head) = (bh / d.heads, bh % d.heads);
        let q = Strided::rows(&qkv[d.qkv_at(image, 0, head)..], d.qkv_width());
        let k = Strided::transposed(&qkv[d.qkv_at(image, 1, head)..], d.qkv_width());
        let v = Strided::rows(&qkv[d.qkv_at(image, 2, head)..], d.qkv_width());
        let out_at = image * n * d.out_width() + head * d.head_dim;
        // SAFETY: `p` is this task's n×n buffer; the output block (rows of this image, columns
        // of this head) is written by this task only; extents are asserted inside gemm_into.
        unsafe {
            gemm_into(
                (n, n, d.head_dim),
                p.as_mut_ptr(),
                n,
                false,
                q,
                k,
                scale,
                Parallelism::None,
            );
            softmax_rows_in_place(p, bias.map(|b| b.block(&d, image, head)), n);
            let p = Strided::rows(p, n);
            gemm_into(
                (n, d.head_dim, n),
                out_ptr.at(out_at),
                d.out_width(),
                false,
                p,
                v,
                1.0,
                Parallelism::None,
            );
        }
    };
    let tasks = d.batch * d.heads;
    match weights {
        Some(weights) => {
            assert_eq!(
                weights.len(),
                tasks * d.scores(),
                "attention: weights buffer length"
            );
            // SAFETY: every element is written by the first GEMM of its task before being read.
            let weights = unsafe { &mut *(weights as *mut [MaybeUninit<f32>] as *mut [f32]) };
            weights
                .par_chunks_mut(d.scores().max(1))
                .enumerate()
                .for_each(|(bh, p)| task(bh, p));
        }
        None => (0..tasks)
            .into_par_iter()
            .for_each_init(|| vec![0.0f32; d.scores()], |p, bh| task(bh, p)),
    }
}

/// Backward pass from the probabilities `weights` and the output gradient `grad`:
/// `dqkv [batch, tokens, 3·heads·head_dim]`, and the gradient of the scores
/// `[batch, heads, tokens, tokens]` (= the bias's, before summing over its broadcast dims) when
/// `dscores` is given.
pub fn attention_backward(
    qkv: &[f32],
    weights: &[f32],
    grad: &[f32],
    d: AttentionDims,
    scale: f32,
    dqkv: &mut [MaybeUninit<f32>],
    dscores: Option<&mut [MaybeUninit<f32>]>,
) {
    let n = d.tokens;
    let tasks = d.batch * d.heads;
    assert!(
        qkv.len() == d.batch * n * d.qkv_width()
            && dqkv.len() == qkv.len()
            && weights.len() == tasks * d.scores()
            && grad.len() == d.batch * n * d.out_width(),
        "attention_backward: buffer lengths do not match {d:?}"
    );
    let dqkv_ptr = SharedOut(dqkv.as_mut_ptr().cast());
    let task = |bh: usize, ds: &mut [f32]| {
        let (image, head) = (bh / d.heads, bh % d.heads);
        let w = d.qkv_width();
        let p = &weights[bh * d.scores()..][..d.scores()];
        let go = Strided::rows(
            &grad[image * n * d.out_width() + head * d.head_dim..],
            d.out_width(),
        );
        let at = |part| d.qkv_at(image, part, head);
        // SAFETY: `ds` is this task's n×n buffer; this task alone writes the q, k and v column
        // blocks of its (image, head) in `dqkv`; extents are asserted inside gemm_into.
        unsafe {
            let none = Parallelism::None;
            // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dP⊙P)).
            gemm_into(
                (n, n, d.head_dim),
                ds.as_mut_ptr(),
                n,
                false,
                go,
                Strided::transposed(&qkv[at(2)..], w),
                1.0,
                none,
            );
            softmax_grad_in_place(ds, p, n);
            let ds = Strided::rows(ds, n);
            let dst = |part| dqkv_ptr.at(at(part));
            // dV = Pᵀ·dO, dQ = scale·dS·K, dK = scale·dSᵀ·Q.
            gemm_into(
                (n, d.head_dim, n),
                dst(2),
                w,
                false,
                Strided::transposed(p, n),
                go,
                1.0,
                none,
            );
            gemm_into(
                (n, d.head_dim, n),
                dst(0),
                w,
                false,
                ds,
                Strided::rows(&qkv[at(1)..], w),
                scale,
                none,
            );
            let dst_t = Strided::transposed(ds.data, n);
            gemm_into(
                (n, d.head_dim, n),
                dst(1),
                w,
                false,
                dst_t,
                Strided::rows(&qkv[at(0)..], w),
                scale,
                none,
            );
        }
    };
    match dscores {
        Some(dscores) => {
            assert_eq!(
                dscores.len(),
                tasks * d.scores(),
                "attention_backward: dscores length"
            );
            // SAFETY: every element is written by the first GEMM of its task before being read.
            let dscores = unsafe { &mut *(dscores as *mut [MaybeUninit<f32>] as *mut [f32]) };
            dscores
                .par_chunks_mut(d.scores().max(1))
                .enumerate()
                .for_each(|(bh, ds)| task(bh, ds));
        }
        None => (0..tasks)
            .into_par_iter()
            .for_each_init(|| vec![0.0f32; d.scores()], |ds, bh| task(bh, ds)),
    }
}
