//! Rotary position embeddings applied straight to timm's fused `qkv` buffer
//! `[batch, tokens, 3, heads, head_dim]`: the queries and keys of the patch tokens rotated in one
//! pass that also copies the values and prefix tokens, so that the attention kernel reads the
//! rotated buffer as it reads any `qkv` — no split, permute or merge copies. The same kernel
//! with the sines negated is its backward pass (a rotation's transpose is the opposite
//! rotation).

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// The sizes of one rotary call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RopeDims {
    /// Images in the batch.
    pub batch: usize,
    /// Tokens per image (prefix tokens included).
    pub tokens: usize,
    /// Heads.
    pub heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Tokens before the patches, left as they are.
    pub prefix: usize,
    /// Heads of the sin/cos tables: 1 (shared by all heads) or `heads`.
    pub table_heads: usize,
}

impl RopeDims {
    fn row(&self) -> usize {
        3 * self.heads * self.head_dim
    }
    fn patches(&self) -> usize {
        self.tokens - self.prefix
    }
    /// Elements of one sin or cos table: `[table_heads, patches, head_dim]`.
    pub fn table_len(&self) -> usize {
        self.table_heads * self.patches() * self.head_dim
    }
}

/// `out` = `qkv` with the patch tokens' queries and keys rotated: per head, `x·cos + rot(x)·sin`
/// with `rot` pairing `(2i, 2i+1)` (interleaved) or `(i, i + d/2)` (`rotate_half`), `sin`/`cos`
/// `[table_heads, patches, head_dim]` in that layout.
pub fn rope_qkv(
    qkv: &[f32],
    sin: &[f32],
    cos: &[f32],
    d: RopeDims,
    rotate_half: bool,
    out: &mut [MaybeUninit<f32>],
) {
    let w = d.row();
    assert!(
        d.prefix <= d.tokens
            && (d.table_heads == 1 || d.table_heads == d.heads)
            && qkv.len() == d.batch * d.tokens * w
            && out.len() == qkv.len()
            && sin.len() == d.table_len()
            && cos.len() == d.table_len()
            && d.head_dim.is_multiple_of(2),
        "rope_qkv: buffer lengths do not match {d:?}"
    );
    let hd = d.head_dim;
    out.par_chunks_mut(w.max(1))
        .zip(qkv.par_chunks(w.max(1)))
        .enumerate()
        .for_each(|(r, (out, x))| {
            let token = r % d.tokens;
            if token < d.prefix {
                for (o, &v) in out.iter_mut().zip(x) {
                    o.write(v);
                }
                return;
            }
            let p = token - d.prefix;
            // q and k: 2·heads blocks of head_dim; v copied.
            for block in 0..2 * d.heads {
                let head = block % d.heads;
                let t = if d.table_heads == 1 { 0 } else { head };
                let at = (t * d.patches() + p) * hd;
                let (s, c) = (&sin[at..at + hd], &cos[at..at + hd]);
                let x = &x[block * hd..][..hd];
                let o = &mut out[block * hd..][..hd];
                if rotate_half {
                    let half = hd / 2;
                    for i in 0..half {
                        let (a, b) = (x[i], x[i + half]);
                        o[i].write(a * c[i] - b * s[i]);
                        o[i + half].write(b * c[i + half] + a * s[i + half]);
                    }
                } else {
                    for i in (0..hd).step_by(2) {
                        let (a, b) = (x[i], x[i + 1]);
                        o[i].write(a * c[i] - b * s[i]);
                        o[i + 1].write(b * c[i + 1] + a * s[i + 1]);
                    }
                }
            }
            let v = 2 * d.heads * hd;
            for (o, &x) in out[v..].iter_mut().zip(&x[v..]) {
                o.write(x);
            }
        });
}
