//! Per-image training augmentations as timm/torchvision do them, on channel-major `[c, h, w]`
//! `f32` buffers: `RandomResizedCrop`, RandAugment (`rand-m9-mstd0.5`) and random erasing.
//!
//! Crop and RandAugment expect values in [0, 1] (before normalisation); random erasing runs
//! after normalisation and fills with N(0, 1) noise. PIL's 8-bit point operations
//! (posterize, equalize, …) are reproduced on values quantised to 256 levels.

pub mod mixup;

use crate::error::{Result, TrainError};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// torchvision's `RandomResizedCrop` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomResizedCropConfig {
    /// Range of the crop area as a fraction of the image area.
    pub scale: [f32; 2],
    /// Range of the crop aspect ratio (width / height), sampled log-uniformly.
    pub ratio: [f32; 2],
}

impl Default for RandomResizedCropConfig {
    fn default() -> Self {
        Self {
            scale: [0.08, 1.0],
            ratio: [3.0 / 4.0, 4.0 / 3.0],
        }
    }
}

impl RandomResizedCropConfig {
    /// Checks `0 < scale[0] <= scale[1] <= 1` and `0 < ratio[0] <= ratio[1]`.
    pub fn validate(&self) -> Result<()> {
        let [s0, s1] = self.scale;
        if !(s0 > 0.0 && s0 <= s1 && s1 <= 1.0) {
            return Err(TrainError::Config(format!(
                "scale: need 0 < scale[0] <= scale[1] <= 1, got {:?}",
                self.scale
            )));
        }
        let [r0, r1] = self.ratio;
        if !(r0 > 0.0 && r0 <= r1 && r1.is_finite()) {
            return Err(TrainError::Config(format!(
                "ratio: need 0 < ratio[0] <= ratio[1], got {:?}",
                self.ratio
            )));
        }
        Ok(())
    }
}

/// timm's RandAugment parameters (`rand-m{magnitude}-n{num_ops}-mstd{magnitude_std}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandAugmentConfig {
    /// Ops drawn (uniformly, with replacement) per image; each then runs with probability 0.5.
    pub num_ops: usize,
    /// Magnitude on timm's 0..10 scale.
    pub magnitude: f32,
    /// Standard deviation of the per-op Gaussian noise on the magnitude (0 = fixed); above
    /// 100 the magnitude is drawn uniformly from [0, magnitude] instead, as timm's `mstd101`.
    pub magnitude_std: f32,
}

impl Default for RandAugmentConfig {
    fn default() -> Self {
        Self {
            num_ops: 2,
            magnitude: 9.0,
            magnitude_std: 0.5,
        }
    }
}

impl RandAugmentConfig {
    /// Checks `magnitude` in [0, 10] and `magnitude_std` finite and >= 0.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=MAX_LEVEL).contains(&self.magnitude) {
            return Err(TrainError::Config(format!(
                "magnitude: need 0 <= magnitude <= 10, got {}",
                self.magnitude
            )));
        }
        if !(self.magnitude_std >= 0.0 && self.magnitude_std.is_finite()) {
            return Err(TrainError::Config(format!(
                "magnitude_std: need a finite value >= 0, got {}",
                self.magnitude_std
            )));
        }
        Ok(())
    }
}

/// timm's `RandomErasing` parameters (mode `pixel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomErasingConfig {
    /// Probability that an image is erased at all.
    pub prob: f32,
    /// Smallest erased area as a fraction of the image.
    pub min_area: f32,
    /// Largest erased area as a fraction of the image.
    pub max_area: f32,
    /// Smallest aspect ratio (height / width) of a box; the largest is `1 / min_aspect`.
    pub min_aspect: f32,
    /// Boxes per erased image are drawn from 1..=max_count (each with area / count).
    pub max_count: usize,
}

impl Default for RandomErasingConfig {
    fn default() -> Self {
        Self {
            prob: 0.25,
            min_area: 0.02,
            max_area: 1.0 / 3.0,
            min_aspect: 0.3,
            max_count: 1,
        }
    }
}

impl RandomErasingConfig {
    /// Checks `prob` in [0, 1], `0 < min_area <= max_area <= 1`, `min_aspect > 0`,
    /// `max_count >= 1`.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.prob) {
            return Err(TrainError::Config(format!(
                "prob: need 0 <= prob <= 1, got {}",
                self.prob
            )));
        }
        if !(self.min_area > 0.0 && self.min_area <= self.max_area && self.max_area <= 1.0) {
            return Err(TrainError::Config(format!(
                "min_area/max_area: need 0 < min_area <= max_area <= 1, got {} and {}",
                self.min_area, self.max_area
            )));
        }
        if !(self.min_aspect > 0.0 && self.min_aspect.is_finite()) {
            return Err(TrainError::Config(format!(
                "min_aspect: need a finite value > 0, got {}",
                self.min_aspect
            )));
        }
        if self.max_count == 0 {
            return Err(TrainError::Config("max_count: need at least 1".into()));
        }
        Ok(())
    }
}

/// Uniform in [lo, hi) that tolerates `lo == hi` (where `random_range` would panic).
fn uniform(rng: &mut impl Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// Bilinear sample of one `h × w` plane at pixel-centre coordinates `(y, x)`, clamped to
/// the edge pixels.
fn bilinear(plane: &[f32], [h, w]: [usize; 2], y: f32, x: f32) -> f32 {
    let (y, x) = (y.clamp(0.0, (h - 1) as f32), x.clamp(0.0, (w - 1) as f32));
    let (y0, x0) = (y.floor() as usize, x.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
    let (fy, fx) = (y - y0 as f32, x - x0 as f32);
    let at = |yy: usize, xx: usize| plane[yy * w + xx];
    let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
    let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
    top + (bottom - top) * fy
}

fn check_len(pixels: &[f32], c: usize, [h, w]: [usize; 2]) {
    assert_eq!(
        pixels.len(),
        c * h * w,
        "image buffer is not [{c}, {h}, {w}]"
    );
}

/// torchvision's `RandomResizedCrop.get_params`: `(top, left, height, width)` of the crop.
fn crop_params(
    [h, w]: [usize; 2],
    cfg: &RandomResizedCropConfig,
    rng: &mut impl Rng,
) -> [usize; 4] {
    let area = (h * w) as f32;
    let [log_r0, log_r1] = cfg.ratio.map(f32::ln);
    for _ in 0..10 {
        let target = area * uniform(rng, cfg.scale[0], cfg.scale[1]);
        let aspect = uniform(rng, log_r0, log_r1).exp();
        let cw = (target * aspect).sqrt().round() as usize;
        let ch = (target / aspect).sqrt().round() as usize;
        if (1..=w).contains(&cw) && (1..=h).contains(&ch) {
            let top = rng.random_range(0..=h - ch);
            let left = rng.random_range(0..=w - cw);
            return [top, left, ch, cw];
        }
    }
    // Fallback: the largest central crop with the ratio clamped into range.
    let in_ratio = w as f32 / h as f32;
    let (ch, cw) = if in_ratio < cfg.ratio[0] {
        (((w as f32 / cfg.ratio[0]).round() as usize).clamp(1, h), w)
    } else if in_ratio > cfg.ratio[1] {
        (h, ((h as f32 * cfg.ratio[1]).round() as usize).clamp(1, w))
    } else {
        (h, w)
    };
    [(h - ch) / 2, (w - cw) / 2, ch, cw]
}

/// torchvision's `RandomResizedCrop`: crops a random area/aspect box and resizes it back to
/// `h × w` bilinearly (half-pixel centres; the crop never shrinks, so no antialiasing).
///
/// # Panics
/// If `pixels.len() != c * h * w`.
pub fn random_resized_crop(
    pixels: &[f32],
    c: usize,
    [h, w]: [usize; 2],
    cfg: &RandomResizedCropConfig,
    rng: &mut impl Rng,
) -> Vec<f32> {
    check_len(pixels, c, [h, w]);
    if h == 0 || w == 0 {
        return pixels.to_vec();
    }
    let [top, left, ch, cw] = crop_params([h, w], cfg, rng);
    let (sy, sx) = (ch as f32 / h as f32, cw as f32 / w as f32);
    let mut out = Vec::with_capacity(pixels.len());
    for plane in pixels.chunks_exact(h * w) {
        for oy in 0..h {
            // Clamp within the crop, as resizing the cropped image would.
            let y = ((oy as f32 + 0.5) * sy - 0.5).clamp(0.0, (ch - 1) as f32) + top as f32;
            for ox in 0..w {
                let x = ((ox as f32 + 0.5) * sx - 0.5).clamp(0.0, (cw - 1) as f32) + left as f32;
                out.push(bilinear(plane, [h, w], y, x));
            }
        }
    }
    out
}

/// timm's `_LEVEL_DENOM`: magnitudes live on 0..10.
const MAX_LEVEL: f32 = 10.0;

/// The ops of timm's `_RAND_TRANSFORMS`, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AutoContrast,
    Equalize,
    Invert,
    Rotate,
    Posterize,
    Solarize,
    SolarizeAdd,
    Color,
    Contrast,
    Brightness,
    Sharpness,
    ShearX,
    ShearY,
    TranslateXRel,
    TranslateYRel,
}

const RAND_OPS: [Op; 15] = [
    Op::AutoContrast,
    Op::Equalize,
    Op::Invert,
    Op::Rotate,
    Op::Posterize,
    Op::Solarize,
    Op::SolarizeAdd,
    Op::Color,
    Op::Contrast,
    Op::Brightness,
    Op::Sharpness,
    Op::ShearX,
    Op::ShearY,
    Op::TranslateXRel,
    Op::TranslateYRel,
];

/// timm's RandAugment (`rand_augment_transform("rand-m9-mstd0.5")` with the default
/// `_RAND_TRANSFORMS`): `num_ops` ops drawn uniformly with replacement, each applied with
/// probability 0.5 at magnitude `N(magnitude, magnitude_std)` clipped to [0, 10].
///
/// Geometric ops sample bilinearly and fill with timm's `img_mean` (ImageNet mean as 8-bit,
/// for 3 channels; 0.5 otherwise).
///
/// # Panics
/// If `pixels.len() != c * h * w`.
pub fn rand_augment(
    pixels: &[f32],
    c: usize,
    hw: [usize; 2],
    cfg: &RandAugmentConfig,
    rng: &mut impl Rng,
) -> Vec<f32> {
    check_len(pixels, c, hw);
    let mut img = pixels.to_vec();
    if img.is_empty() {
        return img;
    }
    for _ in 0..cfg.num_ops {
        let op = RAND_OPS[rng.random_range(0..RAND_OPS.len())];
        // timm's AugmentOp skips when `random() > prob`.
        if rng.random::<f32>() > 0.5 {
            continue;
        }
        let m = if cfg.magnitude_std > 100.0 {
            uniform(rng, 0.0, cfg.magnitude)
        } else if cfg.magnitude_std > 0.0 {
            cfg.magnitude + cfg.magnitude_std * rng.sample::<f32, _>(StandardNormal)
        } else {
            cfg.magnitude
        };
        img = apply_op(&img, c, hw, op, m.clamp(0.0, MAX_LEVEL), rng);
    }
    img
}

/// One op at magnitude `m` with timm's level → argument mappings (`_rotate_level_to_arg`,
/// `_enhance_level_to_arg`, …); signed ops flip their sign with probability 0.5.
fn apply_op(px: &[f32], c: usize, hw: [usize; 2], op: Op, m: f32, rng: &mut impl Rng) -> Vec<f32> {
    let level = m / MAX_LEVEL;
    let mut signed = |v: f32| if rng.random::<f32>() > 0.5 { -v } else { v };
    let enhance = level * 1.8 + 0.1;
    let [h, w] = hw;
    match op {
        Op::AutoContrast => auto_contrast(px, hw),
        Op::Equalize => equalize(px, hw),
        Op::Invert => invert(px),
        Op::Rotate => rotate(px, c, hw, signed(30.0 * level)),
        Op::Posterize => posterize(px, (level * 4.0) as u32),
        Op::Solarize => solarize(px, (level * 256.0) as u32),
        Op::SolarizeAdd => solarize_add(px, (level * 110.0) as u32),
        Op::Color => color(px, c, hw, enhance),
        Op::Contrast => contrast(px, c, hw, enhance),
        Op::Brightness => blend_clamped(px, |_| 0.0, enhance),
        Op::Sharpness => sharpness(px, hw, enhance),
        Op::ShearX => affine(px, c, hw, [1.0, signed(0.3 * level), 0.0, 0.0, 1.0, 0.0]),
        Op::ShearY => affine(px, c, hw, [1.0, 0.0, 0.0, signed(0.3 * level), 1.0, 0.0]),
        Op::TranslateXRel => {
            let dx = signed(0.45 * level) * w as f32;
            affine(px, c, hw, [1.0, 0.0, dx, 0.0, 1.0, 0.0])
        }
        Op::TranslateYRel => {
            let dy = signed(0.45 * level) * h as f32;
            affine(px, c, hw, [1.0, 0.0, 0.0, 0.0, 1.0, dy])
        }
    }
}

/// timm's fill colour for geometric ops: `img_mean` = round(255 · ImageNet mean) / 255.
fn fill_color(c: usize) -> Vec<f32> {
    if c == 3 {
        [124.0, 116.0, 104.0].map(|v| v / 255.0).to_vec()
    } else {
        vec![0.5; c]
    }
}

/// PIL's `Image.transform(AFFINE, (a, b, c, d, e, f))`: output pixel centre `(x, y)` reads
/// the input at `(a x + b y + c, d x + e y + f)`; points outside the image get the fill.
fn affine(px: &[f32], c: usize, [h, w]: [usize; 2], m: [f32; 6]) -> Vec<f32> {
    let fill = fill_color(c);
    let mut out = Vec::with_capacity(px.len());
    for (plane, &fill) in px.chunks_exact(h * w).zip(&fill) {
        for y in 0..h {
            for x in 0..w {
                let (xo, yo) = (x as f32 + 0.5, y as f32 + 0.5);
                let xi = m[0] * xo + m[1] * yo + m[2];
                let yi = m[3] * xo + m[4] * yo + m[5];
                let inside = (0.0..w as f32).contains(&xi) && (0.0..h as f32).contains(&yi);
                out.push(if inside {
                    bilinear(plane, [h, w], yi - 0.5, xi - 0.5)
                } else {
                    fill
                });
            }
        }
    }
    out
}

/// PIL's `Image.rotate(degrees)`: counter-clockwise about the image centre, same size.
fn rotate(px: &[f32], c: usize, [h, w]: [usize; 2], degrees: f32) -> Vec<f32> {
    let (sin, cos) = (-degrees.to_radians()).sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let m = [
        cos,
        sin,
        cos * -cx + sin * -cy + cx,
        -sin,
        cos,
        -sin * -cx + cos * -cy + cy,
    ];
    affine(px, c, [h, w], m)
}

/// A value in [0, 1] as PIL's 8-bit level.
fn quantise(v: f32) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Applies a per-channel 256-entry lookup table built from that channel's 8-bit histogram.
fn per_channel_lut(
    px: &[f32],
    [h, w]: [usize; 2],
    lut: impl Fn(&[u32; 256]) -> [u8; 256],
) -> Vec<f32> {
    px.chunks_exact(h * w)
        .flat_map(|plane| {
            let mut hist = [0u32; 256];
            plane.iter().for_each(|&v| hist[quantise(v) as usize] += 1);
            let lut = lut(&hist);
            plane
                .iter()
                .map(move |&v| f32::from(lut[quantise(v) as usize]) / 255.0)
        })
        .collect()
}

/// PIL's `ImageOps.autocontrast` (cutoff 0): stretches each channel's [min, max] to [0, 255].
fn auto_contrast(px: &[f32], hw: [usize; 2]) -> Vec<f32> {
    per_channel_lut(px, hw, |hist| {
        let lo = hist.iter().position(|&n| n > 0).unwrap_or(0);
        let hi = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
        let mut lut = [0u8; 256];
        for (i, l) in lut.iter_mut().enumerate() {
            *l = if hi <= lo {
                i as u8
            } else {
                let scale = 255.0 / (hi - lo) as f32;
                (i as f32 * scale - lo as f32 * scale).clamp(0.0, 255.0) as u8
            };
        }
        lut
    })
}

/// PIL's `ImageOps.equalize`: per-channel histogram equalisation.
fn equalize(px: &[f32], hw: [usize; 2]) -> Vec<f32> {
    per_channel_lut(px, hw, |hist| {
        let mut lut: [u8; 256] = std::array::from_fn(|i| i as u8);
        let used: Vec<u32> = hist.iter().copied().filter(|&n| n > 0).collect();
        if used.len() <= 1 {
            return lut;
        }
        let step = (used.iter().sum::<u32>() - used[used.len() - 1]) / 255;
        if step == 0 {
            return lut;
        }
        let mut n = step / 2;
        for (l, &count) in lut.iter_mut().zip(hist) {
            *l = (n / step).min(255) as u8;
            n += count;
        }
        lut
    })
}

/// PIL's `ImageOps.invert`.
fn invert(px: &[f32]) -> Vec<f32> {
    px.iter().map(|&v| 1.0 - v).collect()
}

/// PIL's `ImageOps.posterize`: keeps the `bits` high bits of each 8-bit value (8 = identity).
fn posterize(px: &[f32], bits: u32) -> Vec<f32> {
    if bits >= 8 {
        return px.to_vec();
    }
    let mask = !((1u32 << (8 - bits)) - 1) as u8;
    px.iter()
        .map(|&v| f32::from(quantise(v) & mask) / 255.0)
        .collect()
}

/// PIL's `ImageOps.solarize`: inverts values at or above `threshold` (8-bit; 256 = identity).
fn solarize(px: &[f32], threshold: u32) -> Vec<f32> {
    px.iter()
        .map(|&v| {
            if u32::from(quantise(v)) < threshold {
                v
            } else {
                1.0 - v
            }
        })
        .collect()
}

/// timm's `solarize_add`: adds `add` (8-bit) to values below 128, saturating.
fn solarize_add(px: &[f32], add: u32) -> Vec<f32> {
    px.iter()
        .map(|&v| {
            if quantise(v) < 128 {
                (v + add as f32 / 255.0).min(1.0)
            } else {
                v
            }
        })
        .collect()
}

/// PIL's `Image.blend(degenerate, img, factor)` clipped to [0, 1], with the degenerate
/// image given per flat index.
fn blend_clamped(px: &[f32], degenerate: impl Fn(usize) -> f32, factor: f32) -> Vec<f32> {
    px.iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = degenerate(i);
            (d + (v - d) * factor).clamp(0.0, 1.0)
        })
        .collect()
}

/// PIL's `convert("L")` luma for 3 channels; the plane itself for 1; the channel mean else.
fn luma(px: &[f32], c: usize, [h, w]: [usize; 2]) -> Vec<f32> {
    let n = h * w;
    (0..n)
        .map(|i| match c {
            3 => 0.299 * px[i] + 0.587 * px[n + i] + 0.114 * px[2 * n + i],
            _ => (0..c).map(|k| px[k * n + i]).sum::<f32>() / c as f32,
        })
        .collect()
}

/// PIL's `ImageEnhance.Color`: blends with the greyscale image (identity unless 3 channels).
fn color(px: &[f32], c: usize, hw: [usize; 2], factor: f32) -> Vec<f32> {
    if c != 3 {
        return px.to_vec();
    }
    let grey = luma(px, c, hw);
    let n = grey.len();
    blend_clamped(px, |i| grey[i % n], factor)
}

/// PIL's `ImageEnhance.Contrast`: blends with the mean grey level.
fn contrast(px: &[f32], c: usize, hw: [usize; 2], factor: f32) -> Vec<f32> {
    let grey = luma(px, c, hw);
    let mean = grey.iter().sum::<f32>() / grey.len() as f32;
    blend_clamped(px, |_| mean, factor)
}

/// PIL's `ImageEnhance.Sharpness`: blends with the `SMOOTH`-filtered image (3×3 kernel,
/// centre 5, others 1, /13; border pixels kept as PIL does).
fn sharpness(px: &[f32], [h, w]: [usize; 2], factor: f32) -> Vec<f32> {
    let mut smooth = px.to_vec();
    if h >= 3 && w >= 3 {
        for (plane, out) in px.chunks_exact(h * w).zip(smooth.chunks_exact_mut(h * w)) {
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let sum: f32 = (y - 1..=y + 1)
                        .flat_map(|yy| (x - 1..=x + 1).map(move |xx| plane[yy * w + xx]))
                        .sum();
                    out[y * w + x] = (sum + 4.0 * plane[y * w + x]) / 13.0;
                }
            }
        }
    }
    blend_clamped(px, |i| smooth[i], factor)
}

/// timm's `RandomErasing(mode="pixel")`, in place, after normalisation: with probability
/// `prob`, erases 1..=`max_count` boxes (area fraction in [min_area, max_area] / count,
/// log-uniform aspect in [min_aspect, 1 / min_aspect], up to 10 tries each) with N(0, 1) noise
/// per pixel and channel.
///
/// # Panics
/// If `pixels.len() != c * h * w`.
pub fn random_erasing(
    pixels: &mut [f32],
    c: usize,
    [h, w]: [usize; 2],
    cfg: &RandomErasingConfig,
    rng: &mut impl Rng,
) {
    check_len(pixels, c, [h, w]);
    // `u < prob` (not timm's `u > prob` skip) so that prob 0 never erases, even at u = 0.
    if rng.random::<f32>() >= cfg.prob {
        return;
    }
    let count = if cfg.max_count > 1 {
        rng.random_range(1..=cfg.max_count)
    } else {
        1
    };
    let area = (h * w) as f32;
    let log_aspect = [cfg.min_aspect.ln(), (1.0 / cfg.min_aspect).ln()];
    for _ in 0..count {
        for _ in 0..10 {
            let target = uniform(rng, cfg.min_area, cfg.max_area) * area / count as f32;
            let aspect = uniform(rng, log_aspect[0], log_aspect[1]).exp();
            let eh = (target * aspect).sqrt().round() as usize;
            let ew = (target / aspect).sqrt().round() as usize;
            if eh < h && ew < w {
                let top = rng.random_range(0..=h - eh);
                let left = rng.random_range(0..=w - ew);
                for plane in pixels.chunks_exact_mut(h * w) {
                    for row in plane[top * w..].chunks_mut(w).take(eh) {
                        row[left..left + ew]
                            .iter_mut()
                            .for_each(|v| *v = rng.sample(StandardNormal));
                    }
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const C: usize = 3;
    const HW: [usize; 2] = [6, 8];

    /// A smooth-ish test image with values spread over [0, 1].
    fn image() -> Vec<f32> {
        let n = C * HW[0] * HW[1];
        (0..n).map(|i| ((i * 37) % 101) as f32 / 100.0).collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn defaults_are_timms_and_valid() {
        let rrc = RandomResizedCropConfig::default();
        assert_eq!(rrc.scale, [0.08, 1.0]);
        rrc.validate().unwrap();
        let ra = RandAugmentConfig::default();
        assert_eq!((ra.num_ops, ra.magnitude, ra.magnitude_std), (2, 9.0, 0.5));
        ra.validate().unwrap();
        let re = RandomErasingConfig::default();
        assert_eq!(re.prob, 0.25);
        re.validate().unwrap();
    }

    #[test]
    fn validation_names_the_field() {
        let bad = RandomResizedCropConfig {
            scale: [0.9, 0.1],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().starts_with("scale"));
        let bad = RandomResizedCropConfig {
            ratio: [0.0, 1.0],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().starts_with("ratio"));
        let bad = RandAugmentConfig {
            magnitude: 11.0,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("magnitude")
        );
        let bad = RandAugmentConfig {
            magnitude_std: -1.0,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("magnitude_std")
        );
        let bad = RandomErasingConfig {
            prob: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().starts_with("prob"));
        let bad = RandomErasingConfig {
            max_count: 0,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("max_count")
        );
    }

    #[test]
    fn every_op_keeps_shape_and_stays_finite() {
        let img = image();
        let mut rng = StdRng::seed_from_u64(0);
        for op in RAND_OPS {
            for m in [0.0, 5.0, 10.0] {
                let out = apply_op(&img, C, HW, op, m, &mut rng);
                assert_eq!(out.len(), img.len(), "{op:?}");
                assert!(out.iter().all(|v| v.is_finite()), "{op:?}");
            }
        }
    }

    #[test]
    fn non_geometric_ops_stay_in_unit_range() {
        let img = image();
        let mut rng = StdRng::seed_from_u64(1);
        for op in RAND_OPS {
            for m in [0.0, 3.0, 9.0, 10.0] {
                let out = apply_op(&img, C, HW, op, m, &mut rng);
                assert!(out.iter().all(|v| (0.0..=1.0).contains(v)), "{op:?} at {m}");
            }
        }
    }

    #[test]
    fn identity_cases() {
        let img = image();
        assert!(close(&rotate(&img, C, HW, 0.0), &img, 1e-5));
        assert!(close(&invert(&invert(&img)), &img, 1e-6));
        assert_eq!(posterize(&img, 8), img);
        assert_eq!(solarize(&img, 256), img);
        assert_eq!(solarize_add(&img, 0), img);
        assert!(close(&contrast(&img, C, HW, 1.0), &img, 1e-6));
        assert!(close(&sharpness(&img, HW, 1.0), &img, 1e-6));
        assert!(close(&color(&img, C, HW, 1.0), &img, 1e-6));
        // Greyscale images have no saturation to change.
        let grey = &img[..HW[0] * HW[1]];
        assert_eq!(color(grey, 1, HW, 0.1), grey);
    }

    #[test]
    fn point_ops_match_pil_luts() {
        // Posterize to 1 bit: 8-bit levels >= 128 become 128.
        assert_eq!(
            posterize(&[0.2, 0.6, 1.0], 1),
            [0.0, 128.0 / 255.0, 128.0 / 255.0]
        );
        // Solarize at 128 inverts the bright values only.
        assert_eq!(solarize(&[0.25, 0.75], 128), [0.25, 0.25]);
        // Autocontrast stretches [0.25, 0.75] to [0, 1].
        let [h, w] = [1, 3];
        let out = auto_contrast(&[0.25, 0.5, 0.75], [h, w]);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[2], 1.0);
        // Equalize spreads two levels apart.
        let out = equalize(&[0.4, 0.4, 0.6, 0.6], [2, 2]);
        assert!(out[0] < out[2]);
    }

    #[test]
    fn geometric_ops_move_pixels_and_fill_with_mean() {
        let img = image();
        let [h, w] = HW;
        // Translating by the full width leaves only fill.
        let out = affine(&img, C, HW, [1.0, 0.0, w as f32, 0.0, 1.0, 0.0]);
        assert!(close(&out[..h * w], &vec![124.0 / 255.0; h * w], 1e-6));
        // Translating by one pixel shifts left.
        let out = affine(&img, C, HW, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        assert!((out[0] - img[1]).abs() < 1e-6);
        // Rotating by 180° twice is the identity (for an even-sized image).
        let twice = rotate(&rotate(&img, C, HW, 180.0), C, HW, 180.0);
        assert!(close(&twice, &img, 1e-4));
    }

    #[test]
    fn random_resized_crop_identity_and_shape() {
        let img = image();
        let [h, w] = HW;
        let r = w as f32 / h as f32;
        let cfg = RandomResizedCropConfig {
            scale: [1.0, 1.0],
            ratio: [r, r],
        };
        let mut rng = StdRng::seed_from_u64(2);
        assert!(close(
            &random_resized_crop(&img, C, HW, &cfg, &mut rng),
            &img,
            1e-5
        ));
        let cfg = RandomResizedCropConfig::default();
        let run = |seed| random_resized_crop(&img, C, HW, &cfg, &mut StdRng::seed_from_u64(seed));
        assert_eq!(run(9), run(9));
        for _ in 0..20 {
            let out = random_resized_crop(&img, C, HW, &cfg, &mut rng);
            assert_eq!(out.len(), img.len());
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn crop_params_fall_back_to_a_central_crop() {
        // A ratio no 6×8 crop can reach within the area bounds forces the fallback.
        let cfg = RandomResizedCropConfig {
            scale: [1.0, 1.0],
            ratio: [4.0, 4.0],
        };
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(crop_params([6, 8], &cfg, &mut rng), [2, 0, 2, 8]);
    }

    #[test]
    fn rand_augment_is_deterministic_per_seed() {
        let img = image();
        let cfg = RandAugmentConfig {
            num_ops: 4,
            ..Default::default()
        };
        let run = |seed| rand_augment(&img, C, HW, &cfg, &mut StdRng::seed_from_u64(seed));
        assert_eq!(run(7), run(7));
        assert!(
            (0..10).any(|s| run(s) != img),
            "some seed must change the image"
        );
        for s in 0..10 {
            assert_eq!(run(s).len(), img.len());
            assert!(run(s).iter().all(|v| v.is_finite()));
        }
        let none = RandAugmentConfig {
            num_ops: 0,
            ..Default::default()
        };
        assert_eq!(
            rand_augment(&img, C, HW, &none, &mut StdRng::seed_from_u64(0)),
            img
        );
    }

    #[test]
    fn random_erasing_prob_one_erases_and_zero_does_not() {
        let img = image();
        let mut rng = StdRng::seed_from_u64(4);
        let mut kept = img.clone();
        let off = RandomErasingConfig {
            prob: 0.0,
            ..Default::default()
        };
        random_erasing(&mut kept, C, HW, &off, &mut rng);
        assert_eq!(kept, img);

        let on = RandomErasingConfig {
            prob: 1.0,
            min_area: 0.1,
            max_area: 0.2,
            ..Default::default()
        };
        let mut erased = img.clone();
        random_erasing(&mut erased, C, HW, &on, &mut rng);
        let changed = erased.iter().zip(&img).filter(|(a, b)| a != b).count();
        assert!(changed > 0 && changed < img.len());
        // Every channel of the box is erased: the changed count is a multiple of C.
        let [h, w] = HW;
        let per_channel = (0..h * w).filter(|&i| erased[i] != img[i]).count();
        assert_eq!(changed, C * per_channel);
        assert!(erased.iter().all(|v| v.is_finite()));

        let mut again = img.clone();
        let mut rng = StdRng::seed_from_u64(4);
        random_erasing(&mut kept, C, HW, &off, &mut rng);
        random_erasing(&mut again, C, HW, &on, &mut rng);
        assert_eq!(again, erased);
    }

    #[test]
    fn configs_deserialise_with_defaults_and_reject_unknown_fields() {
        let cfg: RandAugmentConfig = serde_json::from_str(r#"{"magnitude": 5}"#).unwrap();
        assert_eq!(
            cfg,
            RandAugmentConfig {
                magnitude: 5.0,
                ..Default::default()
            }
        );
        assert!(serde_json::from_str::<RandomErasingConfig>(r#"{"probability": 1}"#).is_err());
    }
}
