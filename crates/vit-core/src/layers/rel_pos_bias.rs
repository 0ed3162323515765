//! Resizing a relative-position-bias table to another window — timm's
//! `resize_rel_pos_bias_table` (its default, SciPy-free path): the old table's offsets are placed
//! on a geometric progression that spans the new table's range, and each head's table is
//! interpolated linearly onto the new integer offsets. Swin weights trained with 7×7 windows at
//! 224 fine-tune this way with 12×12 windows at 384.

use burn::tensor::TensorData;

use crate::weights::checkpoint::Weight;

/// For every (query, key) pair of a `[h, w]` window, row-major, the row of their relative offset
/// in a `[(2h−1)·(2w−1), heads]` table (timm's `gen_relative_position_index`); with
/// `class_token`, a class token comes first and reads BEiT's three extra rows (class → patch,
/// patch → class, class → class): `[(N+1)²]` entries, else `[N²]`.
pub fn relative_position_index(window: [usize; 2], class_token: bool) -> Vec<i64> {
    let [wh, ww] = window.map(|w| w as i64);
    let coords: Vec<(i64, i64)> = (0..wh).flat_map(|h| (0..ww).map(move |w| (h, w))).collect();
    let offset = |&(hi, wi): &(i64, i64), &(hj, wj): &(i64, i64)| {
        (hi - hj + wh - 1) * (2 * ww - 1) + (wi - wj + ww - 1)
    };
    if !class_token {
        return coords
            .iter()
            .flat_map(|a| coords.iter().map(move |b| offset(a, b)))
            .collect();
    }
    let rows = (2 * wh - 1) * (2 * ww - 1);
    let n = coords.len() + 1;
    let mut index = Vec::with_capacity(n * n);
    index.push(rows + 2);
    index.extend(std::iter::repeat_n(rows, n - 1));
    for a in &coords {
        index.push(rows + 1);
        index.extend(coords.iter().map(|b| offset(a, b)));
    }
    index
}

/// [`resize_rel_pos_bias_table`] for a table with `extra` rows after the offsets (BEiT's
/// three class-token rows), which are kept as they are.
pub fn resize_rel_pos_bias_table_with_extra(
    table: &[f32],
    heads: usize,
    old_window: [usize; 2],
    new_window: [usize; 2],
    extra: usize,
) -> Vec<f32> {
    let split = table.len() - extra * heads;
    let mut out = resize_rel_pos_bias_table(&table[..split], heads, old_window, new_window);
    out.extend_from_slice(&table[split..]);
    out
}

/// The square window a checkpoint's table of `rows` rows (`extra` of them not offsets) was
/// made for, as timm's checkpoint filters infer it; `None` when it is not square.
pub fn square_window_of(rows: usize, extra: usize) -> Option<usize> {
    let offsets = rows.checked_sub(extra)?;
    let side = (offsets as f64).sqrt().round() as usize;
    (side * side == offsets && side % 2 == 1).then_some(side.div_ceil(2))
}

/// A checkpoint's relative position table `weight` (`[rows, heads]`, the last `extra` rows not
/// offsets) resized for a model's `window`, as timm's checkpoint filters do: the checkpoint's
/// window is taken as the square one its row count gives. `Ok(None)` when it already fits; an
/// error naming `key` when its rows fit no square window.
pub fn resize_table_weight(
    key: &str,
    weight: &Weight,
    window: [usize; 2],
    extra: usize,
) -> std::result::Result<Option<(Weight, usize)>, String> {
    let shape = weight.shape();
    let want = (2 * window[0] - 1) * (2 * window[1] - 1) + extra;
    if shape.len() != 2 || shape[0] == want {
        return Ok(None);
    }
    let side = square_window_of(shape[0], extra).ok_or_else(|| {
        format!(
            "{key}: {} rows fit no square window (expected {want} for a {}x{} window)",
            shape[0], window[0], window[1]
        )
    })?;
    let heads = shape[1];
    let values = weight
        .data()?
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| format!("{key}: {e:?}"))?;
    let resized = resize_rel_pos_bias_table_with_extra(&values, heads, [side, side], window, extra);
    let data = TensorData::new(resized, [want, heads]);
    Ok(Some((Weight::from_data(key, data), side)))
}

/// `table` is `[(2·old_h−1)·(2·old_w−1), heads]` row-major (timm's flat layout); the result is
/// `[(2·new_h−1)·(2·new_w−1), heads]`. The same window gives the table back unchanged.
pub fn resize_rel_pos_bias_table(
    table: &[f32],
    heads: usize,
    old_window: [usize; 2],
    new_window: [usize; 2],
) -> Vec<f32> {
    let src = old_window.map(|w| 2 * w - 1);
    let dst = new_window.map(|w| 2 * w - 1);
    assert_eq!(
        table.len(),
        src[0] * src[1] * heads,
        "table size vs window and heads"
    );
    if src == dst {
        return table.to_vec();
    }
    let src_pos = [0, 1].map(|a| source_offsets(src[a], dst[a]));
    let dst_pos = [0, 1].map(|a| {
        let half = (dst[a] / 2) as f32;
        (0..dst[a]).map(|i| i as f32 - half).collect::<Vec<f32>>()
    });
    // Per axis, for every new offset: the two neighbouring old offsets and their distances.
    let weights = [0, 1].map(|a| {
        dst_pos[a]
            .iter()
            .map(|&x| linear_neighbours(&src_pos[a], x))
            .collect::<Vec<_>>()
    });
    let mut out = vec![0.0f32; dst[0] * dst[1] * heads];
    for (y, wy) in weights[0].iter().enumerate() {
        for (x, wx) in weights[1].iter().enumerate() {
            for head in 0..heads {
                let at = |iy: usize, ix: usize| table[(iy * src[1] + ix) * heads + head];
                // timm's RegularGridInterpolator: corners in the order (l,l), (l,r), (r,l), (r,r),
                // each weighted by the distances to the opposite neighbours.
                let mut numerator = 0.0f32;
                for (iy, dy) in [(wy.left, wy.dist_right), (wy.right, wy.dist_left)] {
                    for (ix, dx) in [(wx.left, wx.dist_right), (wx.right, wx.dist_left)] {
                        numerator += at(iy, ix) * (dy * dx);
                    }
                }
                let denominator = (wy.dist_left + wy.dist_right) * (wx.dist_left + wx.dist_right);
                out[(y * dst[1] + x) * heads + head] = numerator / denominator;
            }
        }
    }
    out
}

/// The old table's offsets on timm's geometric progression: `0, ±1, ±(1+q), ±(1+q+q²), …` with
/// `q` found by bisection so that the progression reaches about half the new table's size.
fn source_offsets(src: usize, dst: usize) -> Vec<f32> {
    let half_src = (src / 2) as i32;
    let half_dst = (dst / 2) as f64;
    let progression = |q: f64| (1.0 - q.powi(half_src)) / (1.0 - q);
    let (mut left, mut right) = (1.01f64, 1.5f64);
    let mut q = 0.0;
    while right - left > 1e-6 {
        q = (left + right) / 2.0;
        if progression(q) > half_dst {
            right = q;
        } else {
            left = q;
        }
    }
    let mut distances = Vec::with_capacity(half_src as usize);
    let mut current = 1.0f64;
    for i in 0..half_src {
        distances.push(current);
        current += q.powi(i + 1);
    }
    let mut offsets: Vec<f32> = distances.iter().rev().map(|&d| -d as f32).collect();
    offsets.push(0.0);
    offsets.extend(distances.iter().map(|&d| d as f32));
    offsets
}

/// Linear-interpolation neighbours of `x` among sorted `points`, clamped at the ends.
struct Neighbours {
    left: usize,
    right: usize,
    dist_left: f32,
    dist_right: f32,
}

fn linear_neighbours(points: &[f32], x: f32) -> Neighbours {
    // `torch.bucketize(x, points)`: the first point ≥ x.
    let right = points.partition_point(|&p| p < x).min(points.len() - 1);
    let left = right.saturating_sub(1);
    let mut dist_left = (x - points[left]).max(0.0);
    let mut dist_right = (points[right] - x).max(0.0);
    if dist_left == 0.0 && dist_right == 0.0 {
        dist_left = 1.0;
        dist_right = 1.0;
    }
    Neighbours {
        left,
        right,
        dist_left,
        dist_right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_window_is_unchanged_and_a_constant_table_stays_constant() {
        let table: Vec<f32> = (0..13 * 13 * 2).map(|i| i as f32).collect();
        assert_eq!(resize_rel_pos_bias_table(&table, 2, [7, 7], [7, 7]), table);
        let constant = vec![0.25f32; 13 * 13 * 3];
        let resized = resize_rel_pos_bias_table(&constant, 3, [7, 7], [12, 12]);
        assert_eq!(resized.len(), 23 * 23 * 3);
        assert!(resized.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn the_centre_offset_keeps_its_value() {
        // Offset (0, 0) sits on an old point exactly, whatever the new size.
        let table: Vec<f32> = (0..11 * 11).map(|i| (i as f32).sin()).collect();
        let resized = resize_rel_pos_bias_table(&table, 1, [6, 6], [9, 4]);
        assert_eq!(resized.len(), 17 * 7);
        assert_eq!(resized[8 * 7 + 3], table[5 * 11 + 5]);
    }
}
