//! timm's evaluation transform in pure Rust: what `timm.data.create_transform(is_training=False,
//! input_size, interpolation, mean, std, crop_pct, crop_mode)` does to a decoded 8-bit RGB image,
//! reproducing the tensor timm feeds the model exactly (checked against timm itself by a fixture
//! test, see `scripts/make_preprocess_fixture.py`).
//!
//! The pipeline is timm's `transforms_imagenet_eval`:
//!
//! - `center` (the default): resize to `scale = floor(input_size / crop_pct)` keeping the aspect
//!   ratio (torchvision's shorter-side `Resize` for a square input size, timm's `ResizeKeepRatio`
//!   otherwise), then torchvision's `CenterCrop(input_size)`;
//! - `squash`: resize to exactly `scale`, then `CenterCrop`;
//! - `border`: resize the longer side to fit `scale` (`ResizeKeepRatio(longest=1)`), then pad with
//!   `round(255 * mean)` and crop to `input_size` (`CenterCropOrPad`);
//!
//! then `ToTensor` (`/ 255`) and `Normalize(mean, std)`, as `f32` in CHW order.
//!
//! timm hands torchvision a PIL image, so the resize is a port of Pillow's `Image.resize` for
//! 8-bit RGB (`libImaging/Resample.c`): a separable convolution whose filter is stretched by the
//! scale when shrinking (antialiasing), with fixed-point coefficients and two passes (horizontal
//! then vertical, or the reverse where Pillow 13 does so), each rounded and clipped to `u8`.
//! `nearest` is Pillow's nearest-neighbour affine scale (`Geometry.c`) instead.

use std::ops::Range;

/// timm's default evaluation crop fraction (`DEFAULT_CROP_PCT`).
pub const DEFAULT_CROP_PCT: f64 = 0.875;
/// The ImageNet channel means (timm's `IMAGENET_DEFAULT_MEAN`).
pub const IMAGENET_DEFAULT_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
/// The ImageNet channel standard deviations (timm's `IMAGENET_DEFAULT_STD`).
pub const IMAGENET_DEFAULT_STD: [f64; 3] = [0.229, 0.224, 0.225];

/// Pillow's fixed-point precision for 8-bit resampling: 32 bits less 8 for the value and 2 of
/// headroom for filters with negative lobes.
const PRECISION_BITS: u32 = 22;

/// Refuse outputs beyond this many pixels rather than abort on allocation (1 Gi pixels).
const MAX_PIXELS: usize = 1 << 30;

/// The longest side an image is (virtually) resized to before its crop. Only the crop is ever
/// computed and held, so this bounds time (nearest-neighbour positions are accumulated along the
/// whole side, as Pillow does), not memory: a 1×200 000 strip would otherwise ask for a
/// 256×51 200 000 resize.
const MAX_RESIZE_SIDE: usize = 1 << 26;

/// A Pillow resampling filter, named as timm names interpolation modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `nearest`: nearest neighbour, no antialiasing.
    Nearest,
    /// `box`: box filter (area average when shrinking).
    Box,
    /// `bilinear`: triangle filter.
    Bilinear,
    /// `hamming`: Hamming-windowed sinc of radius 1.
    Hamming,
    /// `bicubic`: Keys' cubic convolution with `a = -0.5`.
    Bicubic,
    /// `lanczos`: Lanczos-windowed sinc of radius 3.
    Lanczos,
}

impl Filter {
    /// Parses timm's interpolation name: `nearest`, `box`, `bilinear`, `hamming`, `bicubic` or
    /// `lanczos`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Ok(match name {
            "nearest" => Self::Nearest,
            "box" => Self::Box,
            "bilinear" => Self::Bilinear,
            "hamming" => Self::Hamming,
            "bicubic" => Self::Bicubic,
            "lanczos" => Self::Lanczos,
            _ => {
                return Err(format!(
                    "interpolation: unknown mode {name:?} (expected nearest, box, bilinear, \
                     hamming, bicubic or lanczos)"
                ));
            }
        })
    }

    /// Pillow's support radius at scale 1, in input pixels.
    fn support(self) -> f64 {
        match self {
            Self::Nearest | Self::Box => 0.5,
            Self::Bilinear | Self::Hamming => 1.0,
            Self::Bicubic => 2.0,
            Self::Lanczos => 3.0,
        }
    }

    /// Pillow's filter kernels, term for term (including its `float` Hamming constants).
    fn weight(self, x: f64) -> f64 {
        use std::f64::consts::PI;
        let sinc = |x: f64| {
            if x == 0.0 {
                1.0
            } else {
                (x * PI).sin() / (x * PI)
            }
        };
        match self {
            Self::Nearest | Self::Box => f64::from(u8::from(x > -0.5 && x <= 0.5)),
            Self::Bilinear => (1.0 - x.abs()).max(0.0),
            Self::Hamming => {
                let x = x.abs();
                if x == 0.0 {
                    1.0
                } else if x >= 1.0 {
                    0.0
                } else {
                    let x = x * PI;
                    x.sin() / x * (f64::from(0.54f32) + f64::from(0.46f32) * x.cos())
                }
            }
            Self::Bicubic => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Self::Lanczos => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

/// How the image is fitted to the input size (timm's `crop_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CropMode {
    /// Keep the aspect ratio, cover the scaled size, crop the centre.
    Center,
    /// Resize each side to the scaled size (aspect ratio not kept), crop the centre.
    Squash,
    /// Keep the aspect ratio, fit inside the scaled size, pad with the mean colour, crop.
    Border,
}

impl CropMode {
    /// Parses timm's crop mode name: `center`, `squash` or `border`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "center" => Ok(Self::Center),
            "squash" => Ok(Self::Squash),
            "border" => Ok(Self::Border),
            _ => Err(format!(
                "crop_mode: unknown mode {name:?} (expected center, squash or border)"
            )),
        }
    }
}

/// timm's evaluation transform; [`EvalTransform::apply`] turns an 8-bit RGB image into the
/// normalised CHW input of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalTransform {
    /// The model input size `[height, width]`.
    pub input_size: [usize; 2],
    /// The fraction of the resized image the crop keeps, in `(0, 1]`: the image is first resized
    /// to `floor(input_size / crop_pct)`.
    pub crop_pct: f64,
    /// `center`, `squash` or `border` (see [`CropMode`]).
    pub crop_mode: String,
    /// The resize filter by timm's name (see [`Filter::from_name`]).
    pub interpolation: String,
    /// The per-channel mean subtracted after scaling to `[0, 1]` (3 values, RGB).
    pub mean: Vec<f64>,
    /// The per-channel standard deviation divided by after the mean (3 non-zero values, RGB).
    pub std: Vec<f64>,
}

impl Default for EvalTransform {
    /// timm's defaults for an ImageNet model: 224×224, crop_pct 0.875, center crop, bicubic,
    /// ImageNet mean and std.
    fn default() -> Self {
        Self {
            input_size: [224, 224],
            crop_pct: DEFAULT_CROP_PCT,
            crop_mode: "center".into(),
            interpolation: "bicubic".into(),
            mean: IMAGENET_DEFAULT_MEAN.to_vec(),
            std: IMAGENET_DEFAULT_STD.to_vec(),
        }
    }
}

/// The checked settings of an [`EvalTransform`].
struct Plan {
    mode: CropMode,
    filter: Filter,
    mean: [f64; 3],
    std: [f64; 3],
    /// `floor(input_size / crop_pct)`.
    scale: [usize; 2],
}

impl EvalTransform {
    /// Applies the transform to `rgb`, an image of `[h, w]` pixels stored row-major as
    /// interleaved RGB bytes (HWC); returns `3 × input_size[0] × input_size[1]` values, CHW.
    ///
    /// Errors name the offending field or the image.
    pub fn apply(&self, rgb: &[u8], [h, w]: [usize; 2]) -> Result<Vec<f32>, String> {
        let plan = self.plan()?;
        check_image(rgb, [h, w])?;
        let size = self.resize_size_with(&plan, [h, w])?;
        // torchvision's CenterCrop pads with 0 (never needed after a covering resize); timm's
        // CenterCropOrPad in border mode pads with the mean colour.
        let fill = match plan.mode {
            CropMode::Border => plan
                .mean
                .map(|m| (255.0 * m).round_ties_even().clamp(0.0, 255.0) as u8),
            CropMode::Center | CropMode::Squash => [0; 3],
        };
        // Only the part of the resized image that the crop keeps is computed: an extreme
        // aspect ratio resizes to a huge image of which the crop is a sliver.
        let [rows, cols] = [0, 1].map(|i| crop_window(size[i], self.input_size[i]));
        let window =
            resize_rgb8_window(rgb, [h, w], size, plan.filter, [rows.clone(), cols.clone()])?;
        let window_size = [rows.len(), cols.len()];
        let cropped = center_crop_rgb8(&window, window_size, self.input_size, fill)?;
        Ok(normalize(&cropped, &plan.mean, &plan.std))
    }

    /// The size `[h, w]` an image of `[h, w]` pixels is resized to before the crop.
    pub fn resize_size(&self, image: [usize; 2]) -> Result<[usize; 2], String> {
        self.resize_size_with(&self.plan()?, image)
    }

    fn plan(&self) -> Result<Plan, String> {
        let [ih, iw] = self.input_size;
        if ih == 0 || iw == 0 {
            return Err(format!("input_size: must be positive, got {ih}x{iw}"));
        }
        let pct = self.crop_pct;
        if !(pct > 0.0 && pct <= 1.0) {
            return Err(format!("crop_pct: must be in (0, 1], got {pct}"));
        }
        let three = |name: &str, v: &[f64]| -> Result<[f64; 3], String> {
            match v {
                // Finite as f32 too: torch normalises with f32 mean and std.
                &[a, b, c] if v.iter().all(|&x| (x as f32).is_finite()) => Ok([a, b, c]),
                _ => Err(format!("{name}: expected 3 finite values, got {v:?}")),
            }
        };
        let mean = three("mean", &self.mean)?;
        let std = three("std", &self.std)?;
        if std.iter().any(|&s| s as f32 == 0.0) {
            return Err(format!("std: values must be non-zero, got {std:?}"));
        }
        // math.floor(x / crop_pct), as timm computes it.
        let scale = self.input_size.map(|x| (x as f64 / pct).floor() as usize);
        Ok(Plan {
            mode: CropMode::from_name(&self.crop_mode)?,
            filter: Filter::from_name(&self.interpolation)?,
            mean,
            std,
            scale,
        })
    }

    fn resize_size_with(&self, plan: &Plan, [h, w]: [usize; 2]) -> Result<[usize; 2], String> {
        if h == 0 || w == 0 {
            return Err(format!("image: size must be positive, got {h}x{w}"));
        }
        let [sh, sw] = plan.scale;
        let size = match plan.mode {
            CropMode::Squash => plan.scale,
            // torchvision's Resize(int): the shorter side to `sh`, the longer one to
            // int(sh * long / short).
            CropMode::Center if sh == sw => {
                let long = (sh as f64 * h.max(w) as f64 / h.min(w) as f64) as usize;
                if w <= h { [long, sh] } else { [sh, long] }
            }
            CropMode::Center => keep_ratio([h, w], plan.scale, 0.0),
            CropMode::Border => keep_ratio([h, w], plan.scale, 1.0),
        };
        match size {
            [0, _] | [_, 0] => Err(format!(
                "image: {h}x{w} resizes to an empty {}x{} image",
                size[0], size[1]
            )),
            [a, b] if a.max(b) > MAX_RESIZE_SIDE => Err(format!(
                "image: {h}x{w} would be resized to {a}x{b} before its crop; sides above \
                 {MAX_RESIZE_SIDE} pixels are refused (an extreme aspect ratio or crop_pct)"
            )),
            _ => Ok(size),
        }
    }
}

/// The rows (or columns) of a resized side of `side` pixels that a centre crop of `crop` keeps:
/// all of them when the crop pads, else the `crop` centred ones, offset as
/// [`center_crop_rgb8`] offsets them (so cropping the window gives the same pixels).
fn crop_window(side: usize, crop: usize) -> Range<usize> {
    if crop >= side {
        return 0..side;
    }
    let start = ((side - crop) as f64 / 2.0).round_ties_even() as usize;
    start..start + crop
}

/// timm's `ResizeKeepRatio.get_params` without the random parts: one ratio for both sides, the
/// smaller per-side ratio (`longest = 0`, cover the target) or the larger (`longest = 1`, fit
/// inside it), sides rounded half to even as Python's `round`.
fn keep_ratio([h, w]: [usize; 2], [th, tw]: [usize; 2], longest: f64) -> [usize; 2] {
    let (rh, rw) = (h as f64 / th as f64, w as f64 / tw as f64);
    let ratio = rh.max(rw) * longest + rh.min(rw) * (1.0 - longest);
    [h, w].map(|x| (x as f64 / ratio).round_ties_even() as usize)
}

fn check_image(rgb: &[u8], [h, w]: [usize; 2]) -> Result<(), String> {
    if h == 0 || w == 0 {
        return Err(format!("image: size must be positive, got {h}x{w}"));
    }
    match h.checked_mul(w).and_then(|n| n.checked_mul(3)) {
        Some(n) if n == rgb.len() => Ok(()),
        _ => Err(format!(
            "image: buffer holds {} bytes, expected {h}x{w}x3",
            rgb.len()
        )),
    }
}

/// `ToTensor` then `Normalize`: HWC bytes to CHW `(v / 255 - mean) / std`, in `f32` as torch
/// computes it (mean and std rounded to `f32` first).
fn normalize(rgb: &[u8], mean: &[f64; 3], std: &[f64; 3]) -> Vec<f32> {
    let n = rgb.len() / 3;
    let mut out = vec![0.0f32; rgb.len()];
    for c in 0..3 {
        let (m, s) = (mean[c] as f32, std[c] as f32);
        for (o, px) in out[c * n..(c + 1) * n].iter_mut().zip(rgb.chunks_exact(3)) {
            *o = (f32::from(px[c]) / 255.0 - m) / s;
        }
    }
    out
}

/// Resizes a channel-major image (`channels` planes of `h × w` bytes, 1 = greyscale or 3 = RGB)
/// to `[out_h, out_w]` exactly as Pillow does — the resize training applies to data sets, so
/// that a model sees the same pixels in training as `vit predict` gives it later.
pub fn resize_planes_u8(
    planes: &[u8],
    channels: usize,
    [h, w]: [usize; 2],
    out: [usize; 2],
    filter: Filter,
) -> Result<Vec<u8>, String> {
    if channels != 1 && channels != 3 || planes.len() != channels * h * w {
        return Err(format!(
            "resize: expected 1 or 3 planes of {h}x{w} bytes, got {} bytes for {channels} channels",
            planes.len()
        ));
    }
    // Pillow resizes each channel independently: a greyscale plane goes through as R = G = B.
    let plane = h * w;
    let rgb: Vec<u8> = (0..plane)
        .flat_map(|i| (0..3).map(move |c| if channels == 1 { i } else { c * plane + i }))
        .map(|at| planes[at])
        .collect();
    let resized = resize_rgb8(&rgb, [h, w], out, filter)?;
    Ok((0..channels)
        .flat_map(|c| resized.iter().skip(c).step_by(3).copied())
        .collect())
}

/// Resizes an interleaved RGB image (HWC bytes) from `[h, w]` to `[out_h, out_w]` exactly as
/// Pillow's `Image.resize(..., filter)` does for an RGB image.
pub fn resize_rgb8(
    rgb: &[u8],
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    filter: Filter,
) -> Result<Vec<u8>, String> {
    resize_rgb8_window(rgb, [h, w], [out_h, out_w], filter, [0..out_h, 0..out_w])
}

/// The `[rows, cols]` window of [`resize_rgb8`]'s output, byte for byte, computing and holding
/// only that window (and the source rows or columns it reads): what a resize followed by a crop
/// needs, whatever size the full resize would have.
pub fn resize_rgb8_window(
    rgb: &[u8],
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    filter: Filter,
    [rows, cols]: [Range<usize>; 2],
) -> Result<Vec<u8>, String> {
    check_image(rgb, [h, w])?;
    if out_h == 0 || out_w == 0 {
        return Err(format!(
            "resize: output size must be positive, got {out_h}x{out_w}"
        ));
    }
    if rows.start > rows.end || rows.end > out_h || cols.start > cols.end || cols.end > out_w {
        return Err(format!(
            "resize: window {rows:?} x {cols:?} is not inside {out_h}x{out_w}"
        ));
    }
    if rows
        .len()
        .checked_mul(cols.len())
        .is_none_or(|n| n > MAX_PIXELS)
    {
        return Err(format!(
            "resize: {}x{} exceeds {MAX_PIXELS} pixels",
            rows.len(),
            cols.len()
        ));
    }
    if [h, w] == [out_h, out_w] {
        return Ok(copy_window(rgb, w, rows, cols));
    }
    if filter == Filter::Nearest {
        return Ok(resize_nearest(rgb, [h, w], [out_h, out_w], [rows, cols]));
    }
    // ImagingResampleInner: separable passes, each rounding and clipping to u8, and a pass is
    // skipped when its side keeps its size. Pillow >= 13 runs the vertical pass first when the
    // height shrinks by more than twice as many pixels as the width (python-pillow/Pillow#9549;
    // established by testing Pillow 13.0.0). Earlier versions always go horizontal first, which
    // rounds and clips the intermediate differently: a few levels apart at most, more with
    // overshooting filters (bicubic, lanczos) on noisy images.
    let vertical_first = out_h < h && (h - out_h) as i64 > 2 * (w as i64 - out_w as i64);
    let vert = (out_h != h).then(|| Coeffs::new(h, out_h, filter, rows.clone()));
    let horiz = (out_w != w).then(|| Coeffs::new(w, out_w, filter, cols.clone()));
    Ok(match (vert, horiz) {
        (Some(vert), Some(horiz)) if vertical_first => {
            // Vertically on just the source columns the horizontal pass reads.
            let src_cols = horiz.source_span();
            let tmp = vertical_pass(rgb, w, src_cols.clone(), &vert);
            horizontal_pass(&tmp, src_cols.len(), 0..rows.len(), &horiz, src_cols.start)
        }
        (Some(vert), Some(horiz)) => {
            // Horizontally on just the source rows the vertical pass reads.
            let src_rows = vert.source_span();
            let tmp = horizontal_pass(rgb, w, src_rows.clone(), &horiz, 0);
            let shifted = vert.shifted(src_rows.start);
            vertical_pass(&tmp, cols.len(), 0..cols.len(), &shifted)
        }
        (Some(vert), None) => vertical_pass(rgb, w, cols, &vert),
        (None, Some(horiz)) => horizontal_pass(rgb, w, rows, &horiz, 0),
        (None, None) => copy_window(rgb, w, rows, cols),
    })
}

/// The `[rows, cols]` window of an RGB image `w` pixels wide.
fn copy_window(rgb: &[u8], w: usize, rows: Range<usize>, cols: Range<usize>) -> Vec<u8> {
    rows.flat_map(|y| &rgb[(y * w + cols.start) * 3..(y * w + cols.end) * 3])
        .copied()
        .collect()
}

/// Pillow's `ImagingResampleHorizontal_8bpc` on `rows` of an RGB image `w` pixels wide whose
/// first column is source column `col0`.
fn horizontal_pass(
    rgb: &[u8],
    w: usize,
    rows: Range<usize>,
    horiz: &Coeffs,
    col0: usize,
) -> Vec<u8> {
    let out_w = horiz.start.len();
    let mut out = vec![0u8; rows.len() * out_w * 3];
    if out_w == 0 {
        return out;
    }
    for (out_row, y) in out.chunks_exact_mut(out_w * 3).zip(rows) {
        let in_row = &rgb[y * w * 3..(y + 1) * w * 3];
        for (xx, px) in out_row.chunks_exact_mut(3).enumerate() {
            let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
            let taps = &in_row[(horiz.start[xx] - col0) * 3..];
            for (p, &k) in taps.chunks_exact(3).zip(horiz.weights(xx)) {
                for c in 0..3 {
                    acc[c] += i64::from(p[c]) * i64::from(k);
                }
            }
            px.copy_from_slice(&acc.map(clip8));
        }
    }
    out
}

/// Pillow's `ImagingResampleVertical_8bpc` on the columns `cols` of an RGB image `w` pixels
/// wide (the coefficients' source rows index it directly).
fn vertical_pass(rgb: &[u8], w: usize, cols: Range<usize>, vert: &Coeffs) -> Vec<u8> {
    let row = cols.len() * 3;
    let mut out = vec![0u8; vert.start.len() * row];
    if row == 0 {
        return out;
    }
    for (yy, out_row) in out.chunks_exact_mut(row).enumerate() {
        let start = vert.start[yy];
        for (i, o) in out_row.iter_mut().enumerate() {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (y, &k) in vert.weights(yy).iter().enumerate() {
                acc += i64::from(rgb[((start + y) * w + cols.start) * 3 + i]) * i64::from(k);
            }
            *o = clip8(acc);
        }
    }
    out
}

/// Pillow's `clip8`: drop the fraction bits, clamp to a byte.
fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for one axis, for the output pixels of
/// a window: for each, the first input pixel and the fixed-point weights of the ones it reads.
struct Coeffs {
    start: Vec<usize>,
    len: Vec<usize>,
    ksize: usize,
    kk: Vec<i32>,
}

impl Coeffs {
    fn new(in_size: usize, out_size: usize, filter: Filter, window: Range<usize>) -> Self {
        // Pillow gets the source box as C floats and subtracts them in float.
        let scale = f64::from(in_size as f32) / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = filter.support() * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let ss = 1.0 / filterscale;
        let mut c = Self {
            start: Vec::with_capacity(window.len()),
            len: Vec::with_capacity(window.len()),
            ksize,
            kk: vec![0; window.len() * ksize],
        };
        let mut k = Vec::with_capacity(ksize);
        for (i, xx) in window.enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) casts truncate toward zero, as Rust's `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64).max(0) as usize;
            let n = xmax.saturating_sub(xmin).min(ksize);
            k.clear();
            k.extend((0..n).map(|x| filter.weight(((x + xmin) as f64 - center + 0.5) * ss)));
            let ww: f64 = k.iter().sum();
            for (dst, &w) in c.kk[i * ksize..].iter_mut().zip(&k) {
                let w = if ww != 0.0 { w / ww } else { w };
                let fixed = w * f64::from(1u32 << PRECISION_BITS);
                *dst = if w < 0.0 {
                    (fixed - 0.5) as i32
                } else {
                    (fixed + 0.5) as i32
                };
            }
            c.start.push(xmin);
            c.len.push(n);
        }
        c
    }

    fn weights(&self, i: usize) -> &[i32] {
        &self.kk[i * self.ksize..i * self.ksize + self.len[i]]
    }

    /// The input pixels the window reads.
    fn source_span(&self) -> Range<usize> {
        let end = (self.start.iter().zip(&self.len))
            .map(|(s, n)| s + n)
            .max()
            .unwrap_or(0);
        self.start.first().copied().unwrap_or(0).min(end)..end
    }

    /// The same coefficients reading an input whose first pixel is input pixel `first`.
    fn shifted(&self, first: usize) -> Self {
        Self {
            start: self.start.iter().map(|s| s - first).collect(),
            len: self.len.clone(),
            ksize: self.ksize,
            kk: self.kk.clone(),
        }
    }
}

/// Pillow's nearest-neighbour resize (`ImagingScaleAffine`): source positions accumulated in
/// `f64` from the pixel centres, truncated; positions off the source stay black.
fn resize_nearest(
    rgb: &[u8],
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
    [rows, cols]: [Range<usize>; 2],
) -> Vec<u8> {
    // Positions are accumulated along the whole side (so they round as Pillow's do) and kept
    // for the window only.
    let index = |in_size: usize, out_size: usize, window: &Range<usize>| -> Vec<Option<usize>> {
        let step = f64::from(in_size as f32) / out_size as f64;
        let mut pos = step * 0.5;
        let mut kept = Vec::with_capacity(window.len());
        for x in 0..window.end {
            if x >= window.start {
                kept.push(
                    (pos >= 0.0)
                        .then_some(pos as usize)
                        .filter(|&i| i < in_size),
                );
            }
            pos += step;
        }
        kept
    };
    let (ys, xs) = (index(h, out_h, &rows), index(w, out_w, &cols));
    let out_w = xs.len();
    let mut out = vec![0u8; ys.len() * out_w * 3];
    if out_w == 0 {
        return out;
    }
    for (out_row, y) in out.chunks_exact_mut(out_w * 3).zip(ys) {
        let Some(y) = y else { continue };
        for (px, x) in out_row.chunks_exact_mut(3).zip(&xs) {
            if let Some(x) = x {
                px.copy_from_slice(&rgb[(y * w + x) * 3..(y * w + x) * 3 + 3]);
            }
        }
    }
    out
}

/// Crops the centre `[crop_h, crop_w]` of an interleaved RGB image (HWC bytes) of `[h, w]`, as
/// torchvision's `center_crop` / timm's `center_crop_or_pad`: a side smaller than the crop is
/// padded with `fill` (the extra pixel of an odd padding going after), and the crop offset of a
/// larger side is `round((side - crop) / 2)` with Python's round half to even.
pub fn center_crop_rgb8(
    rgb: &[u8],
    [h, w]: [usize; 2],
    [crop_h, crop_w]: [usize; 2],
    fill: [u8; 3],
) -> Result<Vec<u8>, String> {
    check_image(rgb, [h, w])?;
    if crop_h == 0 || crop_w == 0 {
        return Err(format!(
            "crop: size must be positive, got {crop_h}x{crop_w}"
        ));
    }
    if crop_h.checked_mul(crop_w).is_none_or(|n| n > MAX_PIXELS) {
        return Err(format!(
            "crop: {crop_h}x{crop_w} exceeds {MAX_PIXELS} pixels"
        ));
    }
    // The source index of output index 0: negative where the side is padded.
    let offset = |side: usize, crop: usize| -> isize {
        if crop > side {
            -(((crop - side) / 2) as isize)
        } else {
            ((side - crop) as f64 / 2.0).round_ties_even() as isize
        }
    };
    let (dy, dx) = (offset(h, crop_h), offset(w, crop_w));
    let mut out = Vec::with_capacity(crop_h * crop_w * 3);
    for y in 0..crop_h as isize {
        for x in 0..crop_w as isize {
            let (sy, sx) = (y + dy, x + dx);
            if (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx) {
                let i = (sy as usize * w + sx as usize) * 3;
                out.extend_from_slice(&rgb[i..i + 3]);
            } else {
                out.extend_from_slice(&fill);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random image.
    fn noise(h: usize, w: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..h * w * 3)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect()
    }

    fn transform(size: [usize; 2], crop_pct: f64, mode: &str, interp: &str) -> EvalTransform {
        EvalTransform {
            input_size: size,
            crop_pct,
            crop_mode: mode.into(),
            interpolation: interp.into(),
            ..EvalTransform::default()
        }
    }

    const MODES: [&str; 3] = ["center", "squash", "border"];
    const FILTERS: [&str; 6] = [
        "nearest", "box", "bilinear", "hamming", "bicubic", "lanczos",
    ];

    #[test]
    fn output_shapes() {
        let img = noise(41, 53, 1);
        for mode in MODES {
            for interp in FILTERS {
                for size in [[24, 24], [20, 28], [64, 64]] {
                    let out = transform(size, 0.875, mode, interp)
                        .apply(&img, [41, 53])
                        .unwrap();
                    assert_eq!(out.len(), 3 * size[0] * size[1], "{mode} {interp} {size:?}");
                    assert!(out.iter().all(|v| v.is_finite()));
                }
            }
        }
    }

    #[test]
    fn resize_sizes_follow_timm() {
        let t = EvalTransform::default();
        // 256 * 53 / 41 = 330.9 -> 330 (int truncates), shorter side first either way.
        assert_eq!(t.resize_size([41, 53]).unwrap(), [256, 330]);
        assert_eq!(t.resize_size([53, 41]).unwrap(), [330, 256]);
        let squash = transform([20, 28], 0.9, "squash", "bilinear");
        assert_eq!(squash.resize_size([41, 53]).unwrap(), [22, 31]);
        // ResizeKeepRatio(25, 42): ratio min(41/25, 53/42); 32.49 -> 32, 42.
        let center = transform([24, 40], 0.95, "center", "bicubic");
        assert_eq!(center.resize_size([41, 53]).unwrap(), [32, 42]);
        // Border fits the longer side: 41 * 36 / 53 = 27.8 -> 28.
        let border = transform([32, 32], 0.875, "border", "bicubic");
        assert_eq!(border.resize_size([41, 53]).unwrap(), [28, 36]);
    }

    #[test]
    fn identity_at_input_size() {
        let img = noise(16, 12, 7);
        for mode in MODES {
            for interp in FILTERS {
                let t = transform([16, 12], 1.0, mode, interp);
                let out = t.apply(&img, [16, 12]).unwrap();
                for c in 0..3 {
                    for i in 0..16 * 12 {
                        let want = (f32::from(img[i * 3 + c]) / 255.0 - t.mean[c] as f32)
                            / t.std[c] as f32;
                        assert_eq!(out[c * 16 * 12 + i], want, "{mode} {interp}");
                    }
                }
            }
        }
    }

    #[test]
    fn constant_image_normalises_to_constants() {
        let color = [10u8, 128, 250];
        let img: Vec<u8> = color.iter().copied().cycle().take(37 * 29 * 3).collect();
        for interp in FILTERS {
            for size in [[24, 24], [96, 80]] {
                let t = transform(size, 0.875, "center", interp);
                let out = t.apply(&img, [37, 29]).unwrap();
                let n = size[0] * size[1];
                for c in 0..3 {
                    let want = (f32::from(color[c]) / 255.0 - t.mean[c] as f32) / t.std[c] as f32;
                    assert!(
                        out[c * n..(c + 1) * n].iter().all(|&v| v == want),
                        "{interp}"
                    );
                }
            }
        }
    }

    #[test]
    fn border_pads_with_the_mean_colour() {
        // A 10x40 strip fitted into 16x16 leaves 6 rows of padding.
        let img = vec![0u8; 10 * 40 * 3];
        let t = transform([16, 16], 1.0, "border", "bilinear");
        let out = t.apply(&img, [10, 40]).unwrap();
        // round(255 * 0.485) = 124: the mean colour normalises to ~0.
        assert!((out[0] - (124.0 / 255.0 - 0.485) / 0.229).abs() < 1e-6);
        assert!((out[8 * 16] - (0.0 - 0.485) / 0.229).abs() < 1e-6);
    }

    #[test]
    fn center_crop_rounds_half_to_even() {
        // 7 - 4 = 3 -> offset round(1.5) = 2; 6 - 4 = 2 -> offset 1.
        let img: Vec<u8> = (0..7 * 6).flat_map(|i| [i as u8; 3]).collect();
        let out = center_crop_rgb8(&img, [7, 6], [4, 4], [0; 3]).unwrap();
        assert_eq!(out[0], 2 * 6 + 1);
        // 5 - 4 = 1 -> round(0.5) = 0.
        let out = center_crop_rgb8(&img[..5 * 6 * 3], [5, 6], [4, 4], [0; 3]).unwrap();
        assert_eq!(out[0], 1);
        // Padding 3 -> 1 before, 2 after.
        let out = center_crop_rgb8(&img[..3], [1, 1], [1, 4], [9; 3]).unwrap();
        assert_eq!(out, [9, 9, 9, 0, 0, 0, 9, 9, 9, 9, 9, 9]);
    }

    #[test]
    fn bad_settings_and_images_are_errors() {
        let img = noise(8, 8, 3);
        let ok = transform([8, 8], 0.875, "center", "bicubic");
        type Edit = fn(&mut EvalTransform);
        let cases: [(Edit, &str); 12] = [
            (|t| t.interpolation = "cubic".into(), "interpolation"),
            (|t| t.crop_mode = "middle".into(), "crop_mode"),
            (|t| t.crop_pct = 0.0, "crop_pct"),
            (|t| t.crop_pct = 1.5, "crop_pct"),
            (|t| t.crop_pct = f64::NAN, "crop_pct"),
            (|t| t.mean = vec![0.5; 2], "mean"),
            (|t| t.mean = vec![0.5, f64::NAN, 0.5], "mean"),
            (|t| t.std = vec![0.5; 4], "std"),
            (|t| t.std = vec![0.5, 0.0, 0.5], "std"),
            (|t| t.std = vec![0.5, 1e-60, 0.5], "std"),
            (|t| t.input_size = [0, 8], "input_size"),
            // A resize far too large to allocate is refused, not attempted.
            (|t| t.crop_pct = 1e-9, "image"),
        ];
        for (edit, field) in cases {
            let mut t = ok.clone();
            edit(&mut t);
            let e = t.apply(&img, [8, 8]).unwrap_err();
            assert!(e.starts_with(field), "{field}: {e}");
        }
        for (buf, size) in [(&img[..], [8, 9]), (&[][..], [0, 0]), (&img[..10], [8, 8])] {
            assert!(ok.apply(buf, size).unwrap_err().starts_with("image"));
        }
        assert!(resize_rgb8(&img, [8, 8], [0, 4], Filter::Bicubic).is_err());
        assert!(center_crop_rgb8(&img, [8, 8], [4, 0], [0; 3]).is_err());
    }

    /// A window of a resize is the same bytes as the window cut from the full resize, for every
    /// filter, for shrinking and growing sides, and for both pass orders.
    #[test]
    fn resize_windows_equal_crops_of_the_full_resize() {
        let img = noise(23, 17, 7);
        let filters = [
            Filter::Nearest,
            Filter::Box,
            Filter::Bilinear,
            Filter::Hamming,
            Filter::Bicubic,
            Filter::Lanczos,
        ];
        for filter in filters {
            for out in [[9, 40], [50, 17], [23, 5], [6, 30], [23, 17], [4, 3]] {
                let full = resize_rgb8(&img, [23, 17], out, filter).unwrap();
                for (rows, cols) in [
                    (0..out[0], 0..out[1]),
                    (1..out[0] - 1, 2..out[1] - 1),
                    (2..3, 0..1),
                ] {
                    let window = resize_rgb8_window(
                        &img,
                        [23, 17],
                        out,
                        filter,
                        [rows.clone(), cols.clone()],
                    )
                    .unwrap();
                    let expected: Vec<u8> = rows
                        .clone()
                        .flat_map(|y| {
                            full[(y * out[1] + cols.start) * 3..(y * out[1] + cols.end) * 3]
                                .to_vec()
                        })
                        .collect();
                    assert_eq!(window, expected, "{filter:?} {out:?} {rows:?} {cols:?}");
                }
            }
        }
    }

    /// A 1×200 000 strip (661 bytes as a PNG) resizes to 256×51 200 000 before its crop: only
    /// the crop is computed, so it is quick and small; past the side limit it is an error.
    #[test]
    fn extreme_aspect_ratios_compute_only_the_crop() {
        let strip = noise(1, 200_000, 5);
        // (`border` fits the long side, leaving the short one empty: an error, as in timm.)
        for mode in ["center", "squash"] {
            let t = transform([224, 224], 0.875, mode, "bicubic");
            let out = t.apply(&strip, [1, 200_000]).unwrap();
            assert_eq!(out.len(), 3 * 224 * 224, "{mode}");
            let tall = t.apply(&strip, [200_000, 1]).unwrap();
            assert_eq!(tall.len(), 3 * 224 * 224, "{mode}");
        }
        let border = transform([224, 224], 0.875, "border", "bicubic");
        assert!(
            border
                .apply(&strip, [1, 200_000])
                .unwrap_err()
                .contains("empty")
        );
        let e = transform([224, 224], 0.875, "center", "bilinear")
            .apply(&noise(1, 300_000, 5), [1, 300_000])
            .unwrap_err();
        assert!(e.starts_with("image") && e.contains("refused"), "{e}");
    }

    /// Parity with timm itself on the fixture written by `scripts/make_preprocess_fixture.py`.
    #[test]
    fn matches_timm_fixture() {
        const DIR: &str = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/preprocess/"
        );
        let read = |name: &str| {
            std::fs::read(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{DIR}{name}: {e}"))
        };
        let cases: serde_json::Value = serde_json::from_slice(&read("cases.json")).unwrap();
        let cases = cases.as_array().unwrap();
        assert!(cases.len() >= 5);
        let usizes = |v: &serde_json::Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        let floats = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let (image, size) = (usizes(&case["image"]), usizes(&case["input_size"]));
            let t = EvalTransform {
                input_size: [size[0], size[1]],
                crop_pct: case["crop_pct"].as_f64().unwrap(),
                crop_mode: case["crop_mode"].as_str().unwrap().into(),
                interpolation: case["interpolation"].as_str().unwrap().into(),
                mean: floats(&case["mean"]),
                std: floats(&case["std"]),
            };
            let got = t
                .apply(&read(case["input"].as_str().unwrap()), [image[0], image[1]])
                .unwrap();
            let want: Vec<f32> = read(case["file"].as_str().unwrap())
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            assert_eq!(usizes(&case["shape"]), [3, size[0], size[1]], "{name}");
            assert_eq!(got.len(), want.len(), "{name}");
            // Bit-exact 8-bit pixels: only the float normalisation may differ.
            let step = 1e-6;
            let max = got
                .iter()
                .zip(&want)
                .map(|(a, b)| f64::from((a - b).abs()))
                .fold(0.0, f64::max);
            println!("{name}: max |delta| = {max:e}");
            assert!(max <= step, "{name}: max |delta| {max} > {step}");
        }
    }
}
