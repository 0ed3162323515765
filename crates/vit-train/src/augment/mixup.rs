//! Mixup and CutMix over a whole batch, as timm's `Mixup(mode="batch", correct_lam=True)`:
//! each image is mixed with its partner in the reversed batch (`x.flip(0)`), and the soft
//! targets mix the (label-smoothed) one-hots with the same λ.

use crate::error::{Result, TrainError};
use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// timm's `Mixup` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MixupConfig {
    /// Beta(α, α) of the Mixup λ; Mixup is active when > 0.
    pub mixup_alpha: f32,
    /// Beta(α, α) of the CutMix λ; CutMix is active when > 0.
    pub cutmix_alpha: f32,
    /// Probability that a batch is mixed at all.
    pub prob: f32,
    /// Probability of CutMix instead of Mixup when both are active.
    pub switch_prob: f32,
}

impl Default for MixupConfig {
    fn default() -> Self {
        Self {
            mixup_alpha: 0.8,
            cutmix_alpha: 1.0,
            prob: 1.0,
            switch_prob: 0.5,
        }
    }
}

impl MixupConfig {
    /// Checks finite alphas >= 0 and probabilities in [0, 1]. Both alphas 0 is allowed and
    /// means no mixing (timm asserts instead).
    pub fn validate(&self) -> Result<()> {
        for (name, alpha) in [
            ("mixup_alpha", self.mixup_alpha),
            ("cutmix_alpha", self.cutmix_alpha),
        ] {
            if !(alpha >= 0.0 && alpha.is_finite()) {
                return Err(TrainError::Config(format!(
                    "{name}: need a finite value >= 0, got {alpha}"
                )));
            }
        }
        for (name, p) in [("prob", self.prob), ("switch_prob", self.switch_prob)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(TrainError::Config(format!(
                    "{name}: need 0 <= {name} <= 1, got {p}"
                )));
            }
        }
        Ok(())
    }
}

/// A CutMix box: rows `y0..y1`, columns `x0..x1` (half-open, already clipped to the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutBox {
    /// First row.
    pub y0: usize,
    /// One past the last row.
    pub y1: usize,
    /// First column.
    pub x0: usize,
    /// One past the last column.
    pub x1: usize,
}

/// timm's `rand_bbox`: a box of `sqrt(1 − λ)` times the image sides, centred uniformly at
/// random and clipped to the image (so it may be smaller than asked).
pub fn rand_bbox([h, w]: [usize; 2], lam: f32, rng: &mut impl Rng) -> CutBox {
    let ratio = (1.0 - lam).clamp(0.0, 1.0).sqrt();
    let (cut_h, cut_w) = ((h as f32 * ratio) as usize, (w as f32 * ratio) as usize);
    let cy = rng.random_range(0..h.max(1));
    let cx = rng.random_range(0..w.max(1));
    CutBox {
        y0: cy.saturating_sub(cut_h / 2),
        y1: (cy + cut_h / 2).min(h),
        x0: cx.saturating_sub(cut_w / 2),
        x1: (cx + cut_w / 2).min(w),
    }
}

/// Pairs of distinct images `(i, b − 1 − i)` of a `[b, n]` buffer, both mutable; the middle
/// image of an odd batch is its own partner and stays as it is.
fn for_each_pair(images: &mut [f32], n: usize, mut f: impl FnMut(&mut [f32], &mut [f32])) {
    if n == 0 {
        return;
    }
    let b = images.len() / n;
    for i in 0..b / 2 {
        let j = b - 1 - i;
        let (head, tail) = images.split_at_mut(j * n);
        f(&mut head[i * n..(i + 1) * n], &mut tail[..n]);
    }
}

/// Mixup with a given λ, in place: `x = λ·x + (1 − λ)·x.flip(0)` over a `[b, c, h, w]` batch.
pub fn mixup_with(images: &mut [f32], [c, h, w]: [usize; 3], lam: f32) {
    for_each_pair(images, c * h * w, |a, b| {
        for (x, y) in a.iter_mut().zip(b) {
            (*x, *y) = (lam * *x + (1.0 - lam) * *y, lam * *y + (1.0 - lam) * *x);
        }
    });
}

/// CutMix with a given box, in place: pixels inside `bbox` come from the partner in the
/// reversed batch. Returns the corrected λ, `1 − box area / (h·w)`.
pub fn cutmix_with(images: &mut [f32], [c, h, w]: [usize; 3], bbox: CutBox) -> f32 {
    let CutBox { y0, y1, x0, x1 } = bbox;
    let (y1, x1) = (y1.min(h), x1.min(w));
    if y0 >= y1 || x0 >= x1 {
        return 1.0;
    }
    for_each_pair(images, c * h * w, |a, b| {
        for (pa, pb) in a.chunks_exact_mut(h * w).zip(b.chunks_exact_mut(h * w)) {
            for y in y0..y1 {
                let row = y * w;
                pa[row + x0..row + x1].swap_with_slice(&mut pb[row + x0..row + x1]);
            }
        }
    });
    1.0 - ((y1 - y0) * (x1 - x0)) as f32 / (h * w) as f32
}

/// timm's `mixup_target`: `λ·one_hot(labels) + (1 − λ)·one_hot(labels reversed)` with label
/// smoothing (off = s / classes, on = 1 − s + off), as `[b, num_classes]` row-major.
///
/// # Panics
/// If a label is `>= num_classes`.
pub fn mixup_target(labels: &[usize], num_classes: usize, lam: f32, smoothing: f32) -> Vec<f32> {
    assert!(
        labels.iter().all(|&l| l < num_classes),
        "labels must be < num_classes ({num_classes}): {labels:?}"
    );
    if labels.is_empty() {
        return Vec::new();
    }
    let off = smoothing / num_classes as f32;
    let on = 1.0 - smoothing + off;
    let mut target = vec![off; labels.len() * num_classes];
    for (row, (&a, &b)) in target
        .chunks_exact_mut(num_classes)
        .zip(labels.iter().zip(labels.iter().rev()))
    {
        row[a] += (on - off) * lam;
        row[b] += (on - off) * (1.0 - lam);
    }
    target
}

/// One draw of Beta(α, α); 1 (no mixing) if α is not a valid parameter.
fn beta(alpha: f32, rng: &mut impl Rng) -> f32 {
    Beta::new(f64::from(alpha), f64::from(alpha)).map_or(1.0, |d| d.sample(rng) as f32)
}

/// timm's `Mixup` in `batch` mode, in place on `images` (`[b, c, h, w]`), returning the soft
/// targets `[b, num_classes]` (rows sum to 1). With probability `prob` the batch is mixed:
/// CutMix with probability `switch_prob` when both alphas are > 0 (else whichever is > 0),
/// λ ~ Beta(α, α), CutMix λ corrected to the clipped box area. Otherwise the targets are the
/// smoothed one-hots and the images are untouched.
///
/// # Panics
/// If `images.len() != labels.len() * c * h * w` or a label is `>= num_classes`.
pub fn mix_batch(
    images: &mut [f32],
    labels: &[usize],
    num_classes: usize,
    [c, h, w]: [usize; 3],
    label_smoothing: f32,
    cfg: &MixupConfig,
    rng: &mut impl Rng,
) -> Vec<f32> {
    assert_eq!(
        images.len(),
        labels.len() * c * h * w,
        "images are not [b, {c}, {h}, {w}]"
    );
    let (mixup_on, cutmix_on) = (cfg.mixup_alpha > 0.0, cfg.cutmix_alpha > 0.0);
    let mut lam = 1.0;
    if (mixup_on || cutmix_on) && rng.random::<f32>() < cfg.prob {
        let use_cutmix = if mixup_on && cutmix_on {
            rng.random::<f32>() < cfg.switch_prob
        } else {
            cutmix_on
        };
        if use_cutmix {
            let drawn = beta(cfg.cutmix_alpha, rng);
            // timm skips mixing only when λ is exactly 1.
            if drawn != 1.0 {
                let bbox = rand_bbox([h, w], drawn, rng);
                lam = cutmix_with(images, [c, h, w], bbox);
            }
        } else {
            lam = beta(cfg.mixup_alpha, rng);
            mixup_with(images, [c, h, w], lam);
        }
    }
    mixup_target(labels, num_classes, lam, label_smoothing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const DIMS: [usize; 3] = [2, 4, 5];

    fn batch(b: usize) -> Vec<f32> {
        let n = b * DIMS.iter().product::<usize>();
        (0..n).map(|i| ((i * 31) % 97) as f32 / 97.0).collect()
    }

    fn assert_rows_sum_to_one(target: &[f32], k: usize) {
        for row in target.chunks_exact(k) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
    }

    #[test]
    fn defaults_are_deits_recipe_and_validation_names_fields() {
        let cfg = MixupConfig::default();
        assert_eq!(
            (cfg.mixup_alpha, cfg.cutmix_alpha, cfg.prob, cfg.switch_prob),
            (0.8, 1.0, 1.0, 0.5)
        );
        cfg.validate().unwrap();
        let err = |cfg: MixupConfig| cfg.validate().unwrap_err().to_string();
        assert!(
            err(MixupConfig {
                mixup_alpha: -1.0,
                ..cfg.clone()
            })
            .starts_with("mixup_alpha")
        );
        assert!(
            err(MixupConfig {
                cutmix_alpha: f32::NAN,
                ..cfg.clone()
            })
            .starts_with("cutmix_alpha")
        );
        assert!(
            err(MixupConfig {
                prob: 1.1,
                ..cfg.clone()
            })
            .starts_with("prob")
        );
        assert!(
            err(MixupConfig {
                switch_prob: -0.1,
                ..cfg.clone()
            })
            .starts_with("switch_prob")
        );
    }

    #[test]
    fn targets_have_shape_and_rows_sum_to_one() {
        let labels = [0, 3, 1, 2, 3];
        let mut rng = StdRng::seed_from_u64(0);
        for smoothing in [0.0, 0.1] {
            for _ in 0..10 {
                let mut images = batch(labels.len());
                let t = mix_batch(
                    &mut images,
                    &labels,
                    4,
                    DIMS,
                    smoothing,
                    &MixupConfig::default(),
                    &mut rng,
                );
                assert_eq!(t.len(), labels.len() * 4);
                assert_rows_sum_to_one(&t, 4);
                assert!(t.iter().all(|&v| (0.0..=1.0).contains(&v)));
            }
        }
    }

    #[test]
    fn mixup_target_mixes_smoothed_one_hots() {
        let t = mixup_target(&[0, 1], 2, 0.75, 0.2);
        // off = 0.1, on = 0.9; row 0 = 0.75·[0.9, 0.1] + 0.25·[0.1, 0.9].
        let expect = [0.7, 0.3, 0.3, 0.7];
        assert!(
            t.iter().zip(expect).all(|(a, b)| (a - b).abs() < 1e-6),
            "{t:?}"
        );
    }

    #[test]
    fn mixup_with_blends_with_the_reversed_batch() {
        let b = 3;
        let orig = batch(b);
        let mut images = orig.clone();
        let lam = 0.3;
        mixup_with(&mut images, DIMS, lam);
        let n: usize = DIMS.iter().product();
        for i in 0..b {
            let j = b - 1 - i;
            for k in 0..n {
                let want = lam * orig[i * n + k] + (1.0 - lam) * orig[j * n + k];
                assert!((images[i * n + k] - want).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn cutmix_with_swaps_the_box_and_corrects_lambda() {
        let b = 4;
        let orig = batch(b);
        let mut images = orig.clone();
        let [c, h, w] = DIMS;
        let bbox = CutBox {
            y0: 1,
            y1: 3,
            x0: 2,
            x1: 5,
        };
        let lam = cutmix_with(&mut images, DIMS, bbox);
        assert!((lam - (1.0 - 6.0 / 20.0)).abs() < 1e-6);
        let idx = |i: usize, ch: usize, y: usize, x: usize| ((i * c + ch) * h + y) * w + x;
        for i in 0..b {
            for ch in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let inside = (1..3).contains(&y) && (2..5).contains(&x);
                        let src = if inside { b - 1 - i } else { i };
                        assert_eq!(images[idx(i, ch, y, x)], orig[idx(src, ch, y, x)]);
                    }
                }
            }
        }
    }

    #[test]
    fn rand_bbox_stays_inside_and_matches_lambda_when_unclipped() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let bx = rand_bbox([32, 32], 0.75, &mut rng);
            assert!(bx.y0 <= bx.y1 && bx.y1 <= 32 && bx.x0 <= bx.x1 && bx.x1 <= 32);
            // sqrt(0.25)·32 = 16: at most 16 × 16.
            assert!(bx.y1 - bx.y0 <= 16 && bx.x1 - bx.x0 <= 16);
        }
    }

    #[test]
    fn prob_zero_leaves_images_and_gives_smoothed_one_hots() {
        let labels = [2, 0];
        let orig = batch(2);
        let mut images = orig.clone();
        let cfg = MixupConfig {
            prob: 0.0,
            ..Default::default()
        };
        let t = mix_batch(
            &mut images,
            &labels,
            3,
            DIMS,
            0.3,
            &cfg,
            &mut StdRng::seed_from_u64(2),
        );
        assert_eq!(images, orig);
        let expect = [0.1, 0.1, 0.8, 0.8, 0.1, 0.1];
        assert!(
            t.iter().zip(expect).all(|(a, b)| (a - b).abs() < 1e-6),
            "{t:?}"
        );
    }

    #[test]
    fn cutmix_only_targets_match_the_pixel_fraction() {
        // Two images of constant 0 and 1: the mean of image 0 is the swapped fraction 1 − λ.
        let [c, h, w] = DIMS;
        let n = c * h * w;
        let mut rng = StdRng::seed_from_u64(3);
        let cfg = MixupConfig {
            mixup_alpha: 0.0,
            ..Default::default()
        };
        for _ in 0..20 {
            let mut images: Vec<f32> = (0..2 * n).map(|i| if i < n { 0.0 } else { 1.0 }).collect();
            let t = mix_batch(&mut images, &[0, 1], 2, DIMS, 0.0, &cfg, &mut rng);
            let swapped = images[..n].iter().sum::<f32>() / n as f32;
            assert!((t[0] - (1.0 - swapped)).abs() < 1e-5);
            assert_rows_sum_to_one(&t, 2);
        }
    }

    #[test]
    fn empty_batch_gives_no_targets() {
        let cfg = MixupConfig::default();
        let t = mix_batch(
            &mut [],
            &[],
            0,
            DIMS,
            0.1,
            &cfg,
            &mut StdRng::seed_from_u64(0),
        );
        assert!(t.is_empty());
    }

    #[test]
    fn mix_batch_is_deterministic_per_seed() {
        let labels = [0, 1, 2, 3];
        let run = |seed| {
            let mut images = batch(4);
            let t = mix_batch(
                &mut images,
                &labels,
                4,
                DIMS,
                0.1,
                &MixupConfig::default(),
                &mut StdRng::seed_from_u64(seed),
            );
            (images, t)
        };
        assert_eq!(run(5), run(5));
    }
}
