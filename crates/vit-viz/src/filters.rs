//! Principal components of the linear patch-embedding filters — the ViT paper's Figure 7
//! (left), "RGB embedding filters (first 28 principal components)" — which look like the
//! first-layer filters of a CNN (Gabor-like edges and colour blobs) in a trained model.
//!
//! Each filter (one per embedding dimension) is flattened over channels × patch pixels, the
//! filters are centred (their mean filter subtracted), and the principal directions are the
//! eigenvectors of their scatter matrix, computed in `f64` (cyclic Jacobi on the smaller of the
//! two Gram matrices: exact to rounding, whatever the eigenvalue gaps). Numbers are as numpy's
//! SVD of the centred matrix gives them, up to each component's sign (fixed here so that its
//! largest-magnitude entry is positive).

use vit_core::inspect::PatchFilters;

/// The principal components of a model's patch filters.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPca {
    /// The first `k` components, each `channels × patch_h × patch_w` values of unit length
    /// (the layout of one filter).
    pub components: Vec<Vec<f64>>,
    /// The variance along every principal direction, largest first (`min(filters − 1, inputs)`
    /// of them; numpy's `S² / (filters − 1)`).
    pub variance: Vec<f64>,
    /// Input channels.
    pub channels: usize,
    /// Patch `[height, width]`.
    pub patch: [usize; 2],
}

impl FilterPca {
    /// The fraction of the total variance each direction explains.
    pub fn explained_ratio(&self) -> Vec<f64> {
        let total: f64 = self.variance.iter().sum();
        self.variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect()
    }
}

/// The first `k` principal components of `filters` (fewer when the filters span fewer
/// directions). Errors when there are fewer than two filters or the weights are not finite.
pub fn filter_pca(filters: &PatchFilters, k: usize) -> Result<FilterPca, String> {
    let n = filters.filters;
    let dim = filters.channels * filters.patch[0] * filters.patch[1];
    if n < 2 || dim == 0 || filters.weights.len() != n * dim {
        return Err(format!(
            "patch filters: expected at least 2 filters of {dim} values, got {} values for {n}",
            filters.weights.len()
        ));
    }
    if filters.weights.iter().any(|w| !w.is_finite()) {
        return Err("patch filters: the weights hold NaN or infinite values".into());
    }
    // Centred filters, one per row.
    let mut x: Vec<f64> = filters.weights.iter().map(|&w| f64::from(w)).collect();
    for j in 0..dim {
        let mean = (0..n).map(|i| x[i * dim + j]).sum::<f64>() / n as f64;
        for i in 0..n {
            x[i * dim + j] -= mean;
        }
    }
    // Eigenvectors of the smaller scatter matrix: XᵀX (dim × dim) or XXᵀ (n × n), whose
    // eigenvectors u give the components Xᵀu / |Xᵀu|.
    let by_inputs = dim <= n;
    let m = if by_inputs { dim } else { n };
    let mut scatter = vec![0.0f64; m * m];
    for a in 0..m {
        for b in a..m {
            let dot: f64 = if by_inputs {
                (0..n).map(|i| x[i * dim + a] * x[i * dim + b]).sum()
            } else {
                (0..dim).map(|j| x[a * dim + j] * x[b * dim + j]).sum()
            };
            scatter[a * m + b] = dot;
            scatter[b * m + a] = dot;
        }
    }
    let (values, vectors) = symmetric_eigen(scatter, m);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    // Centring removes one direction: at most n − 1 carry variance.
    let rank = (n - 1).min(dim);
    let largest = values[order[0]].max(0.0);
    let variance: Vec<f64> = order
        .iter()
        .take(rank)
        .map(|&i| values[i].max(0.0) / (n - 1) as f64)
        .collect();
    let mut components = Vec::new();
    for &i in order.iter().take(rank.min(k)) {
        // Directions with no variance (to rounding) have no defined component.
        if values[i] <= largest * 1e-24 {
            break;
        }
        let u: Vec<f64> = (0..m).map(|r| vectors[r * m + i]).collect();
        let mut component = if by_inputs {
            u
        } else {
            (0..dim)
                .map(|j| (0..n).map(|r| x[r * dim + j] * u[r]).sum())
                .collect()
        };
        let norm = component.iter().map(|v| v * v).sum::<f64>().sqrt();
        let peak = component
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(1.0);
        let scale = if peak < 0.0 { -1.0 / norm } else { 1.0 / norm };
        component.iter_mut().for_each(|v| *v *= scale);
        components.push(component);
    }
    Ok(FilterPca {
        components,
        variance,
        channels: filters.channels,
        patch: filters.patch,
    })
}

/// Eigenvalues and eigenvectors (columns of the row-major `m × m` result) of the symmetric
/// row-major `a`, by cyclic Jacobi rotations until the off-diagonal part vanishes to rounding.
/// Each rotation works on rows (contiguous): rows p and q of A are rotated, and by symmetry
/// columns p and q are copies of them but for the 2×2 block; the eigenvectors are kept as the
/// rows of Vᵀ.
fn symmetric_eigen(mut a: Vec<f64>, m: usize) -> (Vec<f64>, Vec<f64>) {
    let mut vt = vec![0.0f64; m * m];
    for i in 0..m {
        vt[i * m + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    let rotate = |rows: &mut [f64], p: usize, q: usize, c: f64, s: f64| {
        let (head, tail) = rows.split_at_mut(q * m);
        let (row_p, row_q) = (&mut head[p * m..(p + 1) * m], &mut tail[..m]);
        for (x, y) in row_p.iter_mut().zip(row_q.iter_mut()) {
            let (xp, xq) = (*x, *y);
            *x = c * xp - s * xq;
            *y = s * xp + c * xq;
        }
    };
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .map(|p| {
                a[p * m + p + 1..(p + 1) * m]
                    .iter()
                    .map(|x| x * x)
                    .sum::<f64>()
            })
            .sum();
        if off <= total * 1e-30 || off == 0.0 {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * m + p], a[q * m + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // JᵀA on rows p and q; then AJ's columns p and q are those rows (symmetry),
                // but for the 2×2 block, which the rotation diagonalises.
                rotate(&mut a, p, q, c, s);
                for k in 0..m {
                    a[k * m + p] = a[p * m + k];
                    a[k * m + q] = a[q * m + k];
                }
                a[p * m + p] = app - t * apq;
                a[q * m + q] = aqq + t * apq;
                a[p * m + q] = 0.0;
                a[q * m + p] = 0.0;
                // V ← VJ is Vᵀ ← JᵀVᵀ: the same rotation on rows p and q of Vᵀ.
                rotate(&mut vt, p, q, c, s);
            }
        }
    }
    let values = (0..m).map(|i| a[i * m + i]).collect();
    // Back to eigenvectors as columns.
    let mut v = vec![0.0f64; m * m];
    for i in 0..m {
        for k in 0..m {
            v[k * m + i] = vt[i * m + k];
        }
    }
    (values, v)
}

/// The components drawn as the ViT paper draws them: each as a patch of its own (RGB for three
/// channels, grey otherwise), normalised to its own range, enlarged `scale` times (nearest), in a
/// grid `columns` wide with a 2-pixel gap. Returns `(rgb, width, height)`.
pub fn components_grid_rgb(pca: &FilterPca, columns: usize, scale: usize) -> (Vec<u8>, u32, u32) {
    let [ph, pw] = pca.patch;
    let (cell_h, cell_w) = (ph * scale, pw * scale);
    let count = pca.components.len().max(1);
    let columns = columns.clamp(1, count);
    let rows = count.div_ceil(columns);
    let gap = 2;
    let width = columns * (cell_w + gap) + gap;
    let height = rows * (cell_h + gap) + gap;
    let mut rgb = vec![255u8; width * height * 3];
    let plane = ph * pw;
    for (index, component) in pca.components.iter().enumerate() {
        let (lo, hi) = component
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (row, col) = (index / columns, index % columns);
        let (x0, y0) = (gap + col * (cell_w + gap), gap + row * (cell_h + gap));
        for y in 0..cell_h {
            for x in 0..cell_w {
                let pixel = (y / scale) * pw + x / scale;
                let at = ((y0 + y) * width + x0 + x) * 3;
                for c in 0..3 {
                    let channel = if pca.channels == 3 { c } else { 0 };
                    let value = (component[channel * plane + pixel] - lo) / span;
                    rgb[at + c] = (value * 255.0).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    (rgb, width as u32, height as u32)
}
