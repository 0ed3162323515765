//! What the model sees: attention rollout, mean attention distance and
//! position-embedding similarity, computed on plain `f32` slices.
//!
//! These are the diagnostics of the ViT paper (Dosovitskiy et al. 2020: Fig. 7, right,
//! mean attention distance per head and depth; Fig. 7, centre, cosine similarity of
//! position embeddings) and attention rollout (Abnar & Zuidema 2020,
//! "Quantifying Attention Flow in Transformers"). Everything here is std-only
//! maths on row-major buffers, independent of the tensor backend: the caller
//! pulls attention probabilities out of the model (one image at a time) and
//! passes them in as `[heads, tokens, tokens]` slices, query-major, each row
//! being a softmax distribution over the keys.
//!
//! Tokens are laid out as in the model: `num_prefix` prefix tokens first (the
//! class token, and the distillation token for DeiT), then the `gh × gw` patch
//! tokens in row-major order. Bad lengths or values give an `Err`, never a panic.

/// Checks that `attention` holds `[heads, tokens, tokens]` finite, non-negative weights.
fn check_attention(attention: &[f32], heads: usize, tokens: usize) -> Result<(), String> {
    if heads == 0 || tokens == 0 {
        return Err(format!(
            "attention needs at least one head and one token, got {heads} heads and {tokens} tokens"
        ));
    }
    let expected = heads
        .checked_mul(tokens)
        .and_then(|n| n.checked_mul(tokens))
        .ok_or_else(|| format!("{heads} heads of {tokens}x{tokens} tokens is too large"))?;
    if attention.len() != expected {
        return Err(format!(
            "attention has {} values, expected heads*tokens*tokens = {heads}*{tokens}*{tokens} = {expected}",
            attention.len()
        ));
    }
    // Softmax outputs are never negative; anything else means the wrong tensor.
    if let Some(bad) = attention.iter().find(|v| !v.is_finite() || **v < 0.0) {
        return Err(format!(
            "attention weights must be finite and non-negative, found {bad}"
        ));
    }
    Ok(())
}

/// Checks that the prefix tokens plus a `grid` of patches make `tokens` tokens.
fn check_grid(tokens: usize, num_prefix: usize, [gh, gw]: [usize; 2]) -> Result<(), String> {
    if gh == 0 || gw == 0 {
        return Err(format!("patch grid {gh}x{gw} is empty"));
    }
    let patches = gh
        .checked_mul(gw)
        .ok_or_else(|| format!("patch grid {gh}x{gw} is too large"))?;
    if num_prefix.checked_add(patches) != Some(tokens) {
        return Err(format!(
            "{tokens} tokens do not match {num_prefix} prefix tokens plus a {gh}x{gw} patch grid"
        ));
    }
    Ok(())
}

/// Attention rollout (Abnar & Zuidema 2020) of one image through all layers.
///
/// `layers[l]` is layer `l`'s attention, `[heads, tokens, tokens]`, first layer
/// first. For every layer the heads are fused by their mean `A`, the residual
/// connection is accounted for by adding the identity and renormalising each
/// row, `Â = (A + I) / rowsum(A + I)` — which is exactly `0.5·A + 0.5·I` for
/// softmax attention, whose rows sum to 1 — and the layers are chained from
/// the first up: `R = Â_L · … · Â_2 · Â_1`.
///
/// Returns `R` as `[tokens, tokens]` (rows stay stochastic): row `i` says how
/// much each input token flows into output token `i`; row 0 is the class
/// token's map (see [`class_token_map`]). Errors if `layers` is empty, a layer
/// has the wrong length, or holds negative or non-finite weights.
pub fn attention_rollout(
    layers: &[Vec<f32>],
    heads: usize,
    tokens: usize,
) -> Result<Vec<f32>, String> {
    if layers.is_empty() {
        return Err("attention rollout needs at least one layer".into());
    }
    let mut rollout: Option<Vec<f64>> = None;
    for (l, attention) in layers.iter().enumerate() {
        check_attention(attention, heads, tokens).map_err(|e| format!("layer {}: {e}", l + 1))?;
        let layer = residual_mean(attention, heads, tokens);
        rollout = Some(match rollout {
            None => layer,
            // The later layer multiplies from the left: R_l = Â_l · R_{l-1}.
            Some(below) => matmul(&layer, &below, tokens),
        });
    }
    // f64 inside keeps rows stochastic over many layers; f32 is plenty outside.
    Ok(rollout
        .unwrap_or_default()
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

/// Head mean plus identity, rows renormalised: `(A + I) / rowsum(A + I)`.
fn residual_mean(attention: &[f32], heads: usize, tokens: usize) -> Vec<f64> {
    let plane = tokens * tokens;
    let mut fused = vec![0.0f64; plane];
    for head in attention.chunks_exact(plane) {
        for (f, &a) in fused.iter_mut().zip(head) {
            *f += f64::from(a);
        }
    }
    for (i, row) in fused.chunks_exact_mut(tokens).enumerate() {
        row.iter_mut().for_each(|v| *v /= heads as f64);
        row[i] += 1.0;
        // Never zero: the weights are non-negative and the diagonal got +1.
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    fused
}

/// `a · b` for square row-major `n × n` matrices.
fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for (out_row, a_row) in out.chunks_exact_mut(n).zip(a.chunks_exact(n)) {
        for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (o, &b_kj) in out_row.iter_mut().zip(b_row) {
                *o += a_ik * b_kj;
            }
        }
    }
    out
}

/// The patch part of one attention (or rollout) row, as a `[gh, gw]` row-major map.
///
/// `matrix_row` is a full row over all `num_prefix + gh*gw` tokens, typically
/// the class token's: row 0 of [`attention_rollout`], or
/// `&attention[h*t*t..h*t*t + t]` for head `h` of one layer's `[heads, t, t]`
/// attention. The prefix tokens (class, distillation) are dropped, the values
/// are left as they are (not renormalised). Errors if the row length does not
/// match the grid.
pub fn class_token_map(
    matrix_row: &[f32],
    num_prefix: usize,
    grid: [usize; 2],
) -> Result<Vec<f32>, String> {
    check_grid(matrix_row.len(), num_prefix, grid)?;
    Ok(matrix_row[num_prefix..].to_vec())
}

/// Mean attention distance per head (ViT paper, Fig. 7), in pixels.
///
/// For one image's attention `[heads, tokens, tokens]` (tokens =
/// `num_prefix + gh*gw`), each head's value is the attention-weighted
/// Euclidean distance between a query patch's centre and the key patches'
/// centres, averaged over all query patches. Prefix tokens are dropped both as
/// queries and as keys, and each query's weights over the patch keys are
/// renormalised to sum to 1 (so attention parked on the class token does not
/// shrink the distance); a query with no weight on any patch is left out of
/// the average (a head where every query is like that gets 0). Distances are
/// `patch_size × ‖Δ(row, col)‖`, i.e. in input pixels. For several images the
/// caller averages the per-image results.
///
/// Errors on inconsistent lengths, an empty grid, `patch_size == 0`, or
/// negative or non-finite weights.
pub fn mean_attention_distance(
    attention: &[f32],
    heads: usize,
    tokens: usize,
    num_prefix: usize,
    grid: [usize; 2],
    patch_size: usize,
) -> Result<Vec<f32>, String> {
    check_attention(attention, heads, tokens)?;
    check_grid(tokens, num_prefix, grid)?;
    if patch_size == 0 {
        return Err("patch size must be positive".into());
    }
    let [_, gw] = grid;
    let patches = tokens - num_prefix;
    // Pixel distance between the centres of patches p and q (the half-patch offsets cancel).
    let distance = |p: usize, q: usize| {
        let dr = (p / gw) as f64 - (q / gw) as f64;
        let dc = (p % gw) as f64 - (q % gw) as f64;
        patch_size as f64 * dr.hypot(dc)
    };
    let table: Vec<f64> = (0..patches * patches)
        .map(|i| distance(i / patches, i % patches))
        .collect();

    Ok(attention
        .chunks_exact(tokens * tokens)
        .map(|head| {
            let (mut total, mut queries) = (0.0f64, 0usize);
            for (q, row) in head.chunks_exact(tokens).skip(num_prefix).enumerate() {
                let keys = &row[num_prefix..];
                let mass: f64 = keys.iter().map(|&w| f64::from(w)).sum();
                if mass > 0.0 {
                    let dists = &table[q * patches..(q + 1) * patches];
                    let weighted: f64 =
                        keys.iter().zip(dists).map(|(&w, d)| f64::from(w) * d).sum();
                    total += weighted / mass;
                    queries += 1;
                }
            }
            if queries == 0 {
                0.0
            } else {
                (total / queries as f64) as f32
            }
        })
        .collect())
}

/// Pairwise cosine similarities of `count` vectors of length `dim`, `[count, count]`.
///
/// `vectors` is row-major `[count, dim]`, e.g. a ViT's patch position
/// embeddings without the prefix tokens (ViT paper, Fig. 7, centre). A pair involving
/// a zero vector gets similarity 0 (not NaN); results are clamped to `[-1, 1]`
/// against rounding. Errors if the length is not `count * dim` or a value is
/// not finite.
pub fn cosine_similarity_matrix(
    vectors: &[f32],
    count: usize,
    dim: usize,
) -> Result<Vec<f32>, String> {
    if count.checked_mul(dim) != Some(vectors.len()) {
        return Err(format!(
            "{} values are not {count} vectors of length {dim}",
            vectors.len()
        ));
    }
    if vectors.iter().any(|v| !v.is_finite()) {
        return Err("vectors must be finite".into());
    }
    let cells = count
        .checked_mul(count)
        .ok_or_else(|| format!("{count}x{count} similarities is too large"))?;
    if dim == 0 {
        // Only zero vectors: similarity 0 throughout.
        return Ok(vec![0.0; cells]);
    }
    let rows: Vec<&[f32]> = vectors.chunks_exact(dim).collect();
    let dot = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    };
    let norms: Vec<f64> = rows.iter().map(|r| dot(r, r).sqrt()).collect();
    let mut out = Vec::with_capacity(cells);
    for (a, &na) in rows.iter().zip(&norms) {
        for (b, &nb) in rows.iter().zip(&norms) {
            let sim = if na > 0.0 && nb > 0.0 {
                (dot(a, b) / (na * nb)).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            out.push(sim as f32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    fn identity(n: usize) -> Vec<f32> {
        (0..n * n)
            .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
            .collect()
    }

    /// `[heads, t, t]` attention where every query of every head puts all weight on `key(query)`.
    fn pointing(heads: usize, t: usize, key: impl Fn(usize) -> usize) -> Vec<f32> {
        let mut a = vec![0.0; heads * t * t];
        for h in 0..heads {
            for q in 0..t {
                a[h * t * t + q * t + key(q)] = 1.0;
            }
        }
        a
    }

    /// Deterministic pseudo-random softmax attention, `[heads, t, t]`.
    fn random_attention(heads: usize, t: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) * 4.0
        };
        let mut a: Vec<f32> = (0..heads * t * t).map(|_| next().exp()).collect();
        for row in a.chunks_exact_mut(t) {
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        a
    }

    #[test]
    fn rollout_of_identity_attention_is_identity() {
        let (heads, t) = (3, 5);
        let layer = [identity(t), identity(t), identity(t)].concat();
        let r = attention_rollout(&[layer.clone(), layer], heads, t).unwrap();
        assert!(r.iter().zip(identity(t)).all(|(&a, b)| close(a, b)));
    }

    #[test]
    fn single_uniform_layer_is_half_uniform_plus_half_identity() {
        let (heads, t) = (2, 4);
        let uniform = vec![1.0 / t as f32; heads * t * t];
        let r = attention_rollout(&[uniform], heads, t).unwrap();
        for (i, &v) in r.iter().enumerate() {
            let diag = if i / t == i % t { 1.0 } else { 0.0 };
            assert!(close(v, 0.5 / t as f32 + 0.5 * diag), "{i}: {v}");
        }
    }

    #[test]
    fn heads_are_fused_by_their_mean() {
        // Head 0 looks at itself, head 1 at token 0: mean = 0.5·I + 0.5·e0.
        let t = 3;
        let layer = [identity(t), pointing(1, t, |_| 0)].concat();
        let r = attention_rollout(&[layer], 2, t).unwrap();
        // Â = 0.5·(0.5·I + 0.5·e0) + 0.5·I → row 1 = [0.25, 0.75, 0].
        assert!(close(r[t], 0.25) && close(r[t + 1], 0.75) && close(r[t + 2], 0.0));
        assert!(close(r[0], 1.0));
    }

    #[test]
    fn rollout_multiplies_later_layers_from_the_left() {
        // Two tokens, one head. Layer 1: both look at token 0; layer 2: both at token 1.
        let l1 = pointing(1, 2, |_| 0);
        let l2 = pointing(1, 2, |_| 1);
        let r = attention_rollout(&[l1, l2], 1, 2).unwrap();
        // Â1 = [[1, 0], [.5, .5]], Â2 = [[.5, .5], [0, 1]]; R = Â2·Â1 = [[.75, .25], [.5, .5]].
        let expected = [0.75, 0.25, 0.5, 0.5];
        assert!(r.iter().zip(expected).all(|(&a, b)| close(a, b)), "{r:?}");
    }

    #[test]
    fn rollout_rows_sum_to_one() {
        let (heads, t) = (4, 10);
        let layers: Vec<_> = (0..12).map(|s| random_attention(heads, t, s)).collect();
        let r = attention_rollout(&layers, heads, t).unwrap();
        assert_eq!(r.len(), t * t);
        for row in r.chunks_exact(t) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            assert!(row.iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn rollout_rejects_bad_input() {
        assert!(attention_rollout(&[], 1, 2).is_err());
        assert!(attention_rollout(&[vec![0.25; 4], vec![0.25; 3]], 1, 2).is_err());
        assert!(attention_rollout(&[vec![0.25; 4]], 0, 2).is_err());
        assert!(attention_rollout(&[vec![0.25; 4]], 1, 0).is_err());
        assert!(attention_rollout(&[vec![-0.5, 1.5, 0.5, 0.5]], 1, 2).is_err());
        assert!(attention_rollout(&[vec![f32::NAN, 1.0, 0.5, 0.5]], 1, 2).is_err());
        assert!(attention_rollout(&[vec![0.25; 4]], usize::MAX, usize::MAX).is_err());
    }

    #[test]
    fn class_token_map_drops_prefix_tokens() {
        let row: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(
            class_token_map(&row, 2, [2, 3]).unwrap(),
            [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert!(class_token_map(&row, 1, [2, 3]).is_err());
        assert!(class_token_map(&row, 8, [0, 3]).is_err());
        assert!(class_token_map(&row, 0, [usize::MAX, 2]).is_err());
    }

    #[test]
    fn attention_to_self_has_zero_distance() {
        let t = 1 + 9;
        let d = mean_attention_distance(&pointing(2, t, |q| q), 2, t, 1, [3, 3], 16).unwrap();
        assert_eq!(d, [0.0, 0.0]);
    }

    #[test]
    fn attention_to_the_other_patch_of_two_is_one_patch_away() {
        // One class token and a 1×2 grid; patches look only at each other.
        let a = pointing(1, 3, |q| match q {
            1 => 2,
            2 => 1,
            _ => 0,
        });
        let d = mean_attention_distance(&a, 1, 3, 1, [1, 2], 16).unwrap();
        assert!(close(d[0], 16.0), "{d:?}");
    }

    #[test]
    fn prefix_keys_are_dropped_and_weights_renormalised() {
        // Half the weight on the class token, half on the other patch: still 16 px.
        let mut a = vec![0.0; 9];
        a[3..6].copy_from_slice(&[0.5, 0.0, 0.5]);
        a[6..9].copy_from_slice(&[0.5, 0.5, 0.0]);
        a[0] = 1.0;
        let d = mean_attention_distance(&a, 1, 3, 1, [1, 2], 16).unwrap();
        assert!(close(d[0], 16.0), "{d:?}");
        // A query with all its weight on the class token is left out.
        a[3..6].copy_from_slice(&[1.0, 0.0, 0.0]);
        let d = mean_attention_distance(&a, 1, 3, 1, [1, 2], 16).unwrap();
        assert!(close(d[0], 16.0), "{d:?}");
        a[6..9].copy_from_slice(&[1.0, 0.0, 0.0]);
        assert_eq!(
            mean_attention_distance(&a, 1, 3, 1, [1, 2], 16).unwrap(),
            [0.0]
        );
    }

    #[test]
    fn diagonal_offset_on_a_3x3_grid_gives_the_known_distance() {
        // Head 0: patch (r, c) looks at (r+1, c+1) where it exists, else at itself:
        // 4 of 9 queries at 16·√2, 5 at 0. Head 1: at (r, c+1) where it exists, else
        // (r, c-1): every query exactly one patch (16 px) away. Two prefix tokens (DeiT).
        let (prefix, t) = (2, 2 + 9);
        let mut a = vec![0.0; 2 * t * t];
        for q in 0..t {
            let diag = match q.checked_sub(prefix) {
                Some(p) if p / 3 < 2 && p % 3 < 2 => q + 4,
                _ => q,
            };
            let side = match q.checked_sub(prefix) {
                Some(p) if p % 3 < 2 => q + 1,
                Some(_) => q - 1,
                None => q,
            };
            a[q * t + diag] = 1.0;
            a[t * t + q * t + side] = 1.0;
        }
        let d = mean_attention_distance(&a, 2, t, prefix, [3, 3], 16).unwrap();
        let expected = 4.0 * 16.0 * 2f32.sqrt() / 9.0;
        assert!(close(d[0], expected), "{} vs {expected}", d[0]);
        assert!(close(d[1], 16.0), "{}", d[1]);
    }

    #[test]
    fn uniform_attention_distance_matches_the_brute_force_mean() {
        // 2×2 grid, no prefix, uniform attention: pairs at 0, 8, 8, 8·√2 from each patch.
        let a = vec![0.25; 16];
        let d = mean_attention_distance(&a, 1, 4, 0, [2, 2], 8).unwrap();
        assert!(close(d[0], (16.0 + 8.0 * 2f32.sqrt()) / 4.0), "{d:?}");
    }

    #[test]
    fn attention_distance_rejects_bad_input() {
        let a = vec![0.1; 10 * 10];
        assert!(mean_attention_distance(&a, 1, 10, 1, [3, 3], 16).is_ok());
        assert!(mean_attention_distance(&a, 1, 10, 0, [3, 3], 16).is_err());
        assert!(mean_attention_distance(&a, 1, 10, 1, [3, 3], 0).is_err());
        assert!(mean_attention_distance(&a, 2, 10, 1, [3, 3], 16).is_err());
        assert!(mean_attention_distance(&a, 1, 10, 10, [0, 3], 16).is_err());
        assert!(mean_attention_distance(&a, 1, 10, 11, [3, 3], 16).is_err());
    }

    #[test]
    fn cosine_similarity_of_known_vectors() {
        // A 2×2 "grid" of embeddings: e_x, e_y, -e_x and a zero vector.
        let v = [1.0, 0.0, 0.0, 2.0, -3.0, 0.0, 0.0, 0.0];
        let s = cosine_similarity_matrix(&v, 4, 2).unwrap();
        let expected = [
            [1.0, 0.0, -1.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [-1.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ];
        assert!(
            s.iter()
                .zip(expected.as_flattened())
                .all(|(&a, &b)| close(a, b)),
            "{s:?}"
        );
        // Diagonal 1 and symmetry on random vectors.
        let r = random_attention(1, 6, 7);
        let s = cosine_similarity_matrix(&r, 6, 6).unwrap();
        for i in 0..6 {
            assert!(close(s[i * 6 + i], 1.0));
            assert!((0..6).all(|j| close(s[i * 6 + j], s[j * 6 + i])));
        }
    }

    #[test]
    fn cosine_similarity_rejects_bad_input() {
        assert!(cosine_similarity_matrix(&[1.0; 5], 2, 3).is_err());
        assert!(cosine_similarity_matrix(&[1.0, f32::INFINITY], 1, 2).is_err());
        assert!(cosine_similarity_matrix(&[1.0; 2], usize::MAX, 2).is_err());
        assert!(cosine_similarity_matrix(&[], usize::MAX, 0).is_err());
        assert_eq!(
            cosine_similarity_matrix(&[], 0, 4).unwrap(),
            Vec::<f32>::new()
        );
        assert_eq!(cosine_similarity_matrix(&[], 3, 0).unwrap(), vec![0.0; 9]);
    }
}
