//! PNG figures of what a ViT sees: attention overlays, position-embedding
//! similarity grids and mean attention distance per layer.
//!
//! The numbers come from `vit_core::attention_maps`; this module only draws
//! them, with `plotters` through the project's [`crate::plot`] helpers
//! (bundled DejaVu Sans font, in-memory PNG encoding). Every function returns
//! the PNG bytes (the caller writes the file) or an `Err` on inconsistent
//! input, never panicking. Maps use a small viridis lookup table (perceptually
//! uniform, dark = low, yellow = high). Small inputs such as 16×16 digits are
//! scaled up (nearest neighbour) to about 256 px so the figures stay readable.

use crate::charts::{FONT, PALETTE, ensure_font, render_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Longest side, in pixels, images are displayed at.
const DISPLAY: usize = 256;
/// Outer margin of every figure.
const MARGIN: i32 = 16;
/// Height of the band holding a figure's title.
const TITLE_H: i32 = 44;
/// Height of the band holding a panel's caption.
const CAPTION_H: i32 = 26;
/// Space between panels.
const GAP: i32 = 16;
/// Width of a colour bar's gradient.
const BAR_W: i32 = 18;
/// Space between a figure's content and its colour bar.
const BAR_GAP: i32 = 24;
/// Weight of the heat map when blended over the image.
const ALPHA: f32 = 0.55;

/// Matplotlib's viridis at nine evenly spaced stops, interpolated linearly.
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
];

/// The drawing surface handed out by [`render_png`].
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The viridis colour of `v` in `[0, 1]` (clamped; NaN maps to the low end).
fn viridis(v: f32) -> [u8; 3] {
    let x = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) } * 8.0;
    let i = (x as usize).min(7);
    let t = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    std::array::from_fn(|k| {
        (f32::from(a[k]) + t * (f32::from(b[k]) - f32::from(a[k]))).round() as u8
    })
}

/// Checks that `rgb` holds an `[h, w]` RGB image (HWC).
fn check_image(rgb: &[u8], [h, w]: [usize; 2]) -> Result<(), String> {
    if h == 0 || w == 0 {
        return Err(format!("image size {h}x{w} is empty"));
    }
    if h.checked_mul(w).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
        return Err(format!(
            "image has {} bytes, expected {h}*{w}*3 (RGB, HWC)",
            rgb.len()
        ));
    }
    Ok(())
}

/// Checks a `[gh, gw]` map of finite values.
fn check_map(what: &str, map: &[f32], [gh, gw]: [usize; 2]) -> Result<(), String> {
    if gh == 0 || gw == 0 {
        return Err(format!("{what}: grid {gh}x{gw} is empty"));
    }
    if gh.checked_mul(gw) != Some(map.len()) {
        return Err(format!(
            "{what}: {} values do not fill a {gh}x{gw} grid",
            map.len()
        ));
    }
    if map.iter().any(|v| !v.is_finite()) {
        return Err(format!("{what}: values must be finite"));
    }
    Ok(())
}

/// Display size of an `[h, w]` image: an integer up-scale to at most
/// [`DISPLAY`] px (crisp pixels), or a down-scale to fit it.
fn display_size([h, w]: [usize; 2]) -> [usize; 2] {
    let long = h.max(w);
    if long <= DISPLAY {
        let s = DISPLAY / long;
        [h * s, w * s]
    } else {
        let f = DISPLAY as f64 / long as f64;
        [h, w].map(|n| ((n as f64 * f).round() as usize).max(1))
    }
}

/// Nearest-neighbour resampling of an RGB image to `[dh, dw]`.
fn resize_nearest(rgb: &[u8], [h, w]: [usize; 2], [dh, dw]: [usize; 2]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dh * dw * 3);
    for y in 0..dh {
        let sy = y * h / dh;
        for x in 0..dw {
            let s = (sy * w + x * w / dw) * 3;
            out.extend_from_slice(&rgb[s..s + 3]);
        }
    }
    out
}

/// `map` scaled to `[0, 1]` by its min and max (a constant map becomes all 0).
fn min_max(map: &[f32]) -> (Vec<f32>, f32, f32) {
    let lo = map.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = map.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = hi - lo;
    let scaled = map
        .iter()
        .map(|v| if span > 0.0 { (v - lo) / span } else { 0.0 })
        .collect();
    (scaled, lo, hi)
}

/// Bilinear up-sampling of a `[gh, gw]` map to `[dh, dw]`, pixel centres aligned (the
/// resize the data sets use).
fn upsample_bilinear(map: &[f32], grid: [usize; 2], size: [usize; 2]) -> Vec<f32> {
    vit_core::preprocess::bilinear::resize_bilinear(map, 1, grid, size)
}

/// The displayed image with `heat` (already in `[0, 1]`) coloured and blended over it.
fn blend(display: &[u8], heat: &[f32], grid: [usize; 2], size: [usize; 2]) -> Vec<u8> {
    let up = upsample_bilinear(heat, grid, size);
    display
        .chunks_exact(3)
        .zip(up)
        .flat_map(|(px, v)| {
            let c = viridis(v);
            std::array::from_fn::<u8, 3, _>(|k| {
                (f32::from(px[k]) * (1.0 - ALPHA) + f32::from(c[k]) * ALPHA).round() as u8
            })
        })
        .collect()
}

/// Width and height of `text` at `size` px.
fn text_size(text: &str, size: u32) -> Result<(i32, i32), String> {
    let (w, h) = (FONT, size)
        .into_font()
        .box_size(text)
        .map_err(|e| format!("cannot measure text: {e:?}"))?;
    Ok((w as i32, h as i32))
}

/// Draws `text` at `pos`, anchored as given.
fn text(
    area: &Area,
    text: &str,
    pos: (i32, i32),
    size: u32,
    anchor: (HPos, VPos),
) -> Result<(), String> {
    let style = TextStyle::from((FONT, size).into_font()).pos(Pos::new(anchor.0, anchor.1));
    area.draw(&Text::new(text, pos, style))
        .map_err(|e| e.to_string())
}

/// Draws `text` rotated to read bottom-up, centred on `pos`.
fn vertical_text(area: &Area, text: &str, pos: (i32, i32), size: u32) -> Result<(), String> {
    let style = TextStyle::from((FONT, size).into_font())
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(text, pos, style))
        .map_err(|e| e.to_string())
}

/// Copies an RGB buffer of `[h, w]` pixels onto `area` with its top-left corner at `pos`.
fn blit(area: &Area, pos: (i32, i32), [h, w]: [usize; 2], rgb: Vec<u8>) -> Result<(), String> {
    let bitmap = BitMapElement::with_owned_buffer(pos, (w as u32, h as u32), rgb)
        .ok_or("bitmap buffer does not match its size")?;
    area.draw(&bitmap).map_err(|e| e.to_string())
}

/// Draws the figure title centred at the top.
fn title_text(area: &Area, title: &str, width: i32) -> Result<(), String> {
    text(area, title, (width / 2, 12), 22, (HPos::Center, VPos::Top))
}

/// Width of the widest colour-bar tick label.
fn tick_width(ticks: &[(f32, String)]) -> Result<i32, String> {
    ticks
        .iter()
        .try_fold(0, |widest, (_, t)| Ok(widest.max(text_size(t, 13)?.0)))
}

/// Space a colour bar with `ticks` takes right of the content, margin included.
fn bar_space(ticks: &[(f32, String)]) -> Result<i32, String> {
    // Gap, gradient, tick marks and labels, then the rotated description.
    Ok(BAR_GAP + BAR_W + 8 + tick_width(ticks)? + 8 + 20 + MARGIN)
}

/// Draws a vertical viridis colour bar (low at the bottom) `BAR_GAP` right of
/// `x`, from `y` down `height` px, with `ticks` as `(position in [0, 1],
/// label)` and a `label` along its right side.
fn colour_bar(
    area: &Area,
    (x, y): (i32, i32),
    height: i32,
    ticks: &[(f32, String)],
    label: &str,
) -> Result<(), String> {
    let (x, h) = (x + BAR_GAP, height.max(2) as usize);
    let gradient = (0..h)
        .flat_map(|r| {
            let c = viridis(1.0 - r as f32 / (h - 1) as f32);
            std::iter::repeat_n(c, BAR_W as usize).flatten()
        })
        .collect();
    blit(area, (x, y), [h, BAR_W as usize], gradient)?;
    let border = ShapeStyle::from(&BLACK).stroke_width(1);
    area.draw(&Rectangle::new([(x, y), (x + BAR_W, y + h as i32)], border))
        .map_err(|e| e.to_string())?;
    for (pos, tick) in ticks {
        let ty = y + ((1.0 - pos) * (h - 1) as f32).round() as i32;
        area.draw(&PathElement::new(
            [(x + BAR_W, ty), (x + BAR_W + 5, ty)],
            BLACK,
        ))
        .map_err(|e| e.to_string())?;
        text(
            area,
            tick,
            (x + BAR_W + 8, ty),
            13,
            (HPos::Left, VPos::Center),
        )?;
    }
    let label_x = x + BAR_W + 8 + tick_width(ticks)? + 8 + 10;
    vertical_text(area, label, (label_x, y + h as i32 / 2), 15)
}

/// Ticks at round values (steps of 1, 2, 2.5 or 5 × 10^k) between `lo` and
/// `hi`, as `(position in [0, 1], label)`; a single tick if `lo == hi`.
fn value_ticks(lo: f32, hi: f32) -> Vec<(f32, String)> {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![(0.0, number(lo as f32, 0.0))];
    }
    let rough = span / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough)
        .unwrap_or(10.0 * magnitude);
    // A little slack so that ends which are themselves round get a tick.
    let first = (lo / step - 1e-6).ceil() as i64;
    let last = (hi / step + 1e-6).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (((v - lo) / span) as f32, number(v as f32, step as f32))
        })
        .collect()
}

/// Formats `v` with just enough decimals for multiples of `step` (0: as is).
fn number(v: f32, step: f32) -> String {
    if step > 0.0 && step < 1e-4 {
        return format!("{v:.1e}");
    }
    // The fewest decimals (at most 6) that write multiples of `step` exactly.
    let decimals = (0..6)
        .find(|&d| {
            let scaled = f64::from(step) * 10f64.powi(d);
            scaled.round() >= 1.0 && (scaled - scaled.round()).abs() < 1e-3 * scaled
        })
        .unwrap_or(6) as usize;
    if step > 0.0 {
        format!("{v:.decimals$}")
    } else {
        format!("{v}")
    }
}

/// Draws the image and min–max scaled heat maps over it, in a grid of panels
/// captioned "image" and the given labels, plus a colour bar with `ticks`.
fn overlay_figure(
    title: &str,
    rgb: &[u8],
    size: [usize; 2],
    heats: &[(&str, &[f32])],
    grid: [usize; 2],
    ticks: &[(f32, String)],
    bar_label: &str,
) -> Result<Vec<u8>, String> {
    check_image(rgb, size)?;
    if heats.is_empty() {
        return Err("no heat maps to draw".into());
    }
    for (label, heat) in heats {
        check_map(label, heat, grid)?;
    }
    ensure_font()?;

    let [dh, dw] = display_size(size);
    let display = resize_nearest(rgb, size, [dh, dw]);
    let captions: Vec<&str> = std::iter::once("image")
        .chain(heats.iter().map(|(l, _)| *l))
        .collect();
    // At most four panels a row, rows as even as possible (5 → 3 + 2).
    let n = captions.len();
    let rows = n.div_ceil(4);
    let cols = n.div_ceil(rows);
    let mut cell_w = dw as i32;
    for caption in &captions {
        cell_w = cell_w.max(text_size(caption, 16)?.0);
    }
    let cell_h = CAPTION_H + dh as i32;
    let bar_h = (dh as i32).max(160);
    let content_w = MARGIN + cols as i32 * (cell_w + GAP) - GAP;
    let width = (content_w + bar_space(ticks)?).max(text_size(title, 22)?.0 + 2 * MARGIN);
    let height = (TITLE_H + rows as i32 * (cell_h + GAP) - GAP + MARGIN)
        .max(TITLE_H + CAPTION_H + bar_h + MARGIN);

    render_png(width as u32, height as u32, |area| {
        title_text(area, title, width)?;
        for (i, caption) in captions.iter().enumerate() {
            let x = MARGIN + (i % cols) as i32 * (cell_w + GAP);
            let y = TITLE_H + (i / cols) as i32 * (cell_h + GAP);
            let centre = x + cell_w / 2;
            text(
                area,
                caption,
                (centre, y + 4),
                16,
                (HPos::Center, VPos::Top),
            )?;
            let pixels = match i {
                0 => display.clone(),
                _ => blend(&display, &min_max(heats[i - 1].1).0, grid, [dh, dw]),
            };
            blit(
                area,
                (centre - dw as i32 / 2, y + CAPTION_H),
                [dh, dw],
                pixels,
            )?;
        }
        colour_bar(
            area,
            (content_w, TITLE_H + CAPTION_H),
            bar_h,
            ticks,
            bar_label,
        )
    })
}

/// The image next to the same image with `heat` blended over it, plus a colour bar.
///
/// `rgb` is the `[h, w]` image as interleaved RGB bytes (HWC), `heat` a
/// `[gh, gw]` row-major map over the patch grid (e.g. from
/// `vit_core::attention_maps::class_token_map`). The map is min–max
/// normalised, bilinearly up-sampled to the displayed image, coloured with
/// viridis and alpha-blended over it; the colour bar is labelled with the
/// map's own values. Images are shown at about 256 px (small ones enlarged
/// with nearest neighbour). Errors on inconsistent sizes or non-finite heat.
pub fn heatmap_overlay_png(
    title: &str,
    rgb: &[u8],
    size: [usize; 2],
    heat: &[f32],
    grid: [usize; 2],
) -> Result<Vec<u8>, String> {
    check_map("heat map", heat, grid)?;
    let (_, lo, hi) = min_max(heat);
    let ticks = value_ticks(lo, hi);
    overlay_figure(
        title,
        rgb,
        size,
        &[("attention", heat)],
        grid,
        &ticks,
        "attention weight",
    )
}

/// The image plus one captioned overlay per `(label, heat map)` panel, in a grid.
///
/// Same conventions as [`heatmap_overlay_png`], for several maps over one
/// image, e.g. the attention rollout next to each head of the last layer's
/// class-token attention. Each map is min–max scaled on its own, so the
/// shared colour bar reads "low" to "high" rather than values. At most four
/// panels go in a row. Errors if `panels` is empty or any size is inconsistent.
pub fn overlay_panels_png(
    title: &str,
    rgb: &[u8],
    size: [usize; 2],
    panels: &[(String, Vec<f32>)],
    grid: [usize; 2],
) -> Result<Vec<u8>, String> {
    let heats: Vec<(&str, &[f32])> = panels
        .iter()
        .map(|(label, heat)| (label.as_str(), heat.as_slice()))
        .collect();
    let ticks = [(0.0, "low".to_string()), (1.0, "high".to_string())];
    overlay_figure(
        title,
        rgb,
        size,
        &heats,
        grid,
        &ticks,
        "attention (per-map min–max)",
    )
}

/// The ViT paper's position-embedding similarity figure (Fig. 7, centre of Dosovitskiy et al.).
///
/// `maps` is the `[gh*gw, gh*gw]` matrix of cosine similarities between the
/// patch position embeddings (`vit_core::attention_maps::cosine_similarity_matrix`).
/// The figure is a `gh × gw` grid of small `gh × gw` maps: the map in row `r`,
/// column `c` shows the similarity of patch `(r, c)`'s embedding to every
/// patch's. Colours span −1 to 1 (values outside are clamped) with a shared
/// colour bar; rows and columns are numbered from 1 as in the paper. Errors
/// on inconsistent sizes or non-finite values.
pub fn similarity_grid_png(title: &str, maps: &[f32], grid: [usize; 2]) -> Result<Vec<u8>, String> {
    let [gh, gw] = grid;
    let patches = gh
        .checked_mul(gw)
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("patch grid {gh}x{gw} is empty or too large"))?;
    check_map("similarity matrix", maps, [patches, patches])?;
    ensure_font()?;

    // Cells of ~640 px in all across the grid of maps, whole pixels, at most 48 px.
    let n = gh.max(gw);
    let cell = (640 / (n * n)).clamp(1, 48);
    let [map_h, map_w] = [gh * cell, gw * cell];
    let gap = (map_h.max(map_w) / 10).clamp(2, 12);
    let [grid_h, grid_w] = [gh * (map_h + gap) - gap, gw * (map_w + gap) - gap];
    let (left, top) = (MARGIN + 24 + 36, TITLE_H + 8);
    let bar_h = (grid_h as i32).max(160);
    let ticks: Vec<_> = [-1.0f32, -0.5, 0.0, 0.5, 1.0]
        .iter()
        .map(|&v| ((v + 1.0) / 2.0, format!("{v}")))
        .collect();
    let content_w = left + grid_w as i32;
    let width = (content_w + bar_space(&ticks)?).max(text_size(title, 22)?.0 + 2 * MARGIN);
    // Below the grid: column numbers, then the axis description.
    let height = top + (grid_h as i32).max(bar_h) + 20 + 26 + MARGIN;

    // Gaps stay white; map (r, c) is row r*gw + c of the similarity matrix.
    let mut pixels = vec![255u8; grid_h * grid_w * 3];
    for (p, row) in maps.chunks_exact(patches).enumerate() {
        let (y0, x0) = ((p / gw) * (map_h + gap), (p % gw) * (map_w + gap));
        for y in 0..map_h {
            for x in 0..map_w {
                let colour = viridis((row[(y / cell) * gw + x / cell] + 1.0) / 2.0);
                let at = ((y0 + y) * grid_w + x0 + x) * 3;
                pixels[at..at + 3].copy_from_slice(&colour);
            }
        }
    }

    render_png(width as u32, height as u32, |area| {
        title_text(area, title, width)?;
        blit(area, (left, top), [grid_h, grid_w], pixels)?;
        // Number every k-th row and column so labels never overlap.
        let step = |pitch: usize| 22usize.div_ceil(pitch).max(1);
        for r in (0..gh).step_by(step(map_h + gap)) {
            let y = top + (r * (map_h + gap) + map_h / 2) as i32;
            text(
                area,
                &(r + 1).to_string(),
                (left - 6, y),
                13,
                (HPos::Right, VPos::Center),
            )?;
        }
        let below = top + grid_h as i32 + 4;
        for c in (0..gw).step_by(step(map_w + gap)) {
            let x = left + (c * (map_w + gap) + map_w / 2) as i32;
            text(
                area,
                &(c + 1).to_string(),
                (x, below),
                13,
                (HPos::Center, VPos::Top),
            )?;
        }
        let mid_x = left + grid_w as i32 / 2;
        text(
            area,
            "input patch column",
            (mid_x, below + 22),
            15,
            (HPos::Center, VPos::Top),
        )?;
        vertical_text(
            area,
            "input patch row",
            (MARGIN + 10, top + grid_h as i32 / 2),
            15,
        )?;
        colour_bar(area, (content_w, top), bar_h, &ticks, "cosine similarity")
    })
}

/// Mean attention distance per head against depth (ViT paper, Fig. 7).
///
/// `distances[l][h]` is head `h`'s mean attention distance in layer `l + 1`,
/// in pixels (`vit_core::attention_maps::mean_attention_distance`, averaged
/// over images). Each head is one dot, coloured by head index, spread a little
/// sideways around its layer so dots at equal distance stay visible. The y
/// axis runs from 0 to `max_distance` (extended if a value exceeds it), e.g.
/// the image diagonal. Errors if there is no layer, a layer has no head, a
/// distance is negative or not finite, or `max_distance` is not positive.
pub fn attention_distance_png(
    title: &str,
    distances: &[Vec<f32>],
    max_distance: f32,
) -> Result<Vec<u8>, String> {
    if distances.is_empty() || distances.iter().any(Vec::is_empty) {
        return Err("every layer needs at least one head's distance".into());
    }
    if distances
        .iter()
        .flatten()
        .any(|d| !d.is_finite() || *d < 0.0)
    {
        return Err("attention distances must be finite and non-negative".into());
    }
    if !(max_distance.is_finite() && max_distance > 0.0) {
        return Err(format!("max distance {max_distance} must be positive"));
    }
    ensure_font()?;
    let layers = distances.len();
    let heads = distances.iter().map(Vec::len).max().unwrap_or(1);
    let top = distances
        .iter()
        .flatten()
        .fold(max_distance, |m, &d| m.max(d * 1.05));
    let colour = |h: usize| -> RGBColor {
        if heads <= PALETTE.len() {
            PALETTE[h]
        } else {
            // More heads than tab10 colours: evenly spaced hues instead.
            let (r, g, b) = HSLColor(h as f64 / heads as f64 * 0.9, 0.7, 0.45).rgb();
            RGBColor(r, g, b)
        }
    };
    // Spread the heads of a layer over at most ±0.25 of a layer.
    let spread = (0.5 / heads as f64).min(0.08);
    let legend_rows = heads.min(16);
    let (width, height) = (860i32, (460i32).max(TITLE_H + 40 + 20 * legend_rows as i32));
    let width = width.max(text_size(title, 22)?.0 + 2 * MARGIN);

    render_png(width as u32, height as u32, |area| {
        title_text(area, title, width)?;
        let body = area.margin(TITLE_H as u32, MARGIN as u32, MARGIN as u32, 0);
        let (plot, legend) = body.split_horizontally(width - 130);
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5..layers as f64 + 0.5, 0.0..f64::from(top))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("network depth (layer)")
            .y_desc("mean attention distance (pixels)")
            .x_labels(layers.min(24) + 1)
            .y_labels(8)
            .x_label_formatter(&|x| {
                // Only whole layers are labelled.
                if (x - x.round()).abs() < 1e-6 {
                    format!("{}", x.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if (y - y.round()).abs() < 1e-6 {
                    format!("{}", y.round())
                } else {
                    format!("{y:.1}")
                }
            })
            .disable_x_mesh()
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(BLACK.mix(0.04))
            .draw()
            .map_err(|e| e.to_string())?;
        let dots = distances.iter().enumerate().flat_map(|(l, layer)| {
            layer.iter().enumerate().map(move |(h, &d)| {
                let x = (l + 1) as f64 + (h as f64 - (layer.len() - 1) as f64 / 2.0) * spread;
                Circle::new((x, f64::from(d)), 4, colour(h).filled())
            })
        });
        chart.draw_series(dots).map_err(|e| e.to_string())?;

        // Legend: one entry per head (the first 15 and a count beyond 16 heads).
        text(&legend, "heads", (12, 14), 15, (HPos::Left, VPos::Center))?;
        for h in 0..legend_rows {
            let y = 14 + 20 * (h as i32 + 1);
            if heads > 16 && h == 15 {
                text(
                    &legend,
                    &format!("… {heads} in all"),
                    (12, y),
                    14,
                    (HPos::Left, VPos::Center),
                )?;
                break;
            }
            legend
                .draw(&Circle::new((18, y), 4, colour(h).filled()))
                .map_err(|e| e.to_string())?;
            text(
                &legend,
                &format!("head {}", h + 1),
                (30, y),
                14,
                (HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("valid PNG")
            .to_rgb8()
    }

    fn colours(img: &image::RgbImage) -> usize {
        img.pixels().map(|p| p.0).collect::<HashSet<_>>().len()
    }

    /// A `[h, w]` test image: a bright diagonal bar on a dark gradient.
    fn test_image(h: usize, w: usize) -> Vec<u8> {
        (0..h * w)
            .flat_map(|i| {
                let (y, x) = (i / w, i % w);
                if x.abs_diff(y) <= h / 8 {
                    [250, 250, 250]
                } else {
                    [(40 + 100 * x / w) as u8, 30, (40 + 100 * y / h) as u8]
                }
            })
            .collect()
    }

    /// A `[gh, gw]` map peaking at `(r, c)`.
    fn peak(gh: usize, gw: usize, r: usize, c: usize) -> Vec<f32> {
        (0..gh * gw)
            .map(|i| {
                let (dy, dx) = ((i / gw) as f32 - r as f32, (i % gw) as f32 - c as f32);
                (-(dy * dy + dx * dx) / 2.0).exp()
            })
            .collect()
    }

    /// Position-embedding-like similarities: smooth in the patch distance.
    fn similarities(gh: usize, gw: usize) -> Vec<f32> {
        let p = gh * gw;
        (0..p * p)
            .map(|i| {
                let (a, b) = (i / p, i % p);
                let dy = (a / gw) as f32 - (b / gw) as f32;
                let dx = (a % gw) as f32 - (b % gw) as f32;
                2.0 * (-(dy * dy + dx * dx) / 6.0).exp() - 1.0
            })
            .collect()
    }

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), VIRIDIS[0]);
        assert_eq!(viridis(1.0), VIRIDIS[8]);
        assert_eq!(viridis(7.0), VIRIDIS[8]);
        assert_eq!(viridis(f32::NAN), VIRIDIS[0]);
    }

    #[test]
    fn ticks_sit_at_round_values() {
        let labels =
            |lo, hi| -> Vec<String> { value_ticks(lo, hi).into_iter().map(|(_, l)| l).collect() };
        assert_eq!(labels(0.0183, 1.0), ["0.25", "0.50", "0.75", "1.00"]);
        assert_eq!(labels(0.001, 0.0041), ["0.001", "0.002", "0.003", "0.004"]);
        assert_eq!(
            labels(0.0, 0.01),
            ["0.0000", "0.0025", "0.0050", "0.0075", "0.0100"]
        );
        assert_eq!(labels(3.0, 130.0), ["50", "100"]);
        assert_eq!(labels(0.5, 0.5), ["0.5"]);
        let ticks = value_ticks(-2.0, 2.0);
        assert_eq!((ticks[0].0, ticks[ticks.len() - 1].0), (0.0, 1.0));
        assert_eq!(number(3e-5, 1e-5), "3.0e-5");
    }

    #[test]
    fn display_size_scales_small_images_up_and_large_ones_down() {
        assert_eq!(display_size([16, 16]), [256, 256]);
        assert_eq!(display_size([24, 24]), [240, 240]);
        assert_eq!(display_size([224, 224]), [224, 224]);
        assert_eq!(display_size([512, 256]), [256, 128]);
    }

    #[test]
    fn bilinear_upsampling_keeps_constants_and_corners() {
        let up = upsample_bilinear(&[1.0, 2.0, 3.0, 4.0], [2, 2], [8, 8]);
        assert_eq!((up[0], up[63]), (1.0, 4.0));
        assert!(up.iter().all(|v| (1.0..=4.0).contains(v)));
        assert!(
            upsample_bilinear(&[0.5; 6], [2, 3], [5, 7])
                .iter()
                .all(|&v| v == 0.5)
        );
    }

    #[test]
    fn heatmap_overlay_shows_image_and_heat() {
        let rgb = test_image(16, 16);
        let png = heatmap_overlay_png("digit", &rgb, [16, 16], &peak(4, 4, 1, 2), [4, 4]).unwrap();
        let img = decode(&png);
        let (w, h) = img.dimensions();
        // Two 256 px panels side by side plus a colour bar; title and captions above.
        assert!(
            w >= 2 * 256 + BAR_GAP as u32 + 60 && h >= 256 + TITLE_H as u32,
            "{w}x{h}"
        );
        assert!(colours(&img) > 100, "only {} colours", colours(&img));
        // The plain panel shows the image scaled ×16; the overlay beside it differs.
        let (x0, y0) = (MARGIN as u32, (TITLE_H + CAPTION_H) as u32);
        let cell = 256 + GAP as u32;
        for (sy, sx) in [(0, 0), (3, 12), (8, 8), (15, 15)] {
            let (x, y) = (x0 + sx * 16 + 7, y0 + sy * 16 + 7);
            let src = &rgb[((sy * 16 + sx) * 3) as usize..][..3];
            assert_eq!(img.get_pixel(x, y).0, src, "image pixel ({sy}, {sx})");
            assert_ne!(
                img.get_pixel(x + cell, y).0,
                src,
                "overlay pixel ({sy}, {sx})"
            );
        }
        // Hot (row 1, col 2) is brighter/yellower than cold (row 3, col 0) in the overlay.
        let at = |r: u32, c: u32| img.get_pixel(x0 + cell + c * 64 + 32, y0 + r * 64 + 32).0;
        assert!(at(1, 2)[1] > at(3, 0)[1]);
    }

    #[test]
    fn overlay_panels_lay_out_a_grid() {
        let rgb = test_image(24, 24);
        let panels: Vec<_> = ["rollout", "head 1", "head 2", "head 3"]
            .iter()
            .enumerate()
            .map(|(i, l)| (l.to_string(), peak(6, 6, i, 5 - i)))
            .collect();
        let png = overlay_panels_png("attention", &rgb, [24, 24], &panels, [6, 6]).unwrap();
        let img = decode(&png);
        // Five panels: a row of three over a row of two, 240 px images.
        let (w, h) = img.dimensions();
        let bar = bar_space(&[(0.0, "low".into()), (1.0, "high".into())]).unwrap();
        assert_eq!(w, (MARGIN + 3 * (240 + GAP) - GAP + bar) as u32);
        assert_eq!(
            h,
            (TITLE_H + 2 * (CAPTION_H + 240 + GAP) - GAP + MARGIN) as u32
        );
        assert!(colours(&img) > 100);
        // The second row holds overlays, differing from the image in the first panel.
        let (x, y) = (MARGIN as u32 + 120, (TITLE_H + CAPTION_H) as u32 + 120);
        let row2 = y + (CAPTION_H + 240 + GAP) as u32;
        assert_ne!(img.get_pixel(x, y), img.get_pixel(x, row2));
        // A single panel is a two-panel figure.
        let one = overlay_panels_png("one", &rgb, [24, 24], &panels[..1], [6, 6]).unwrap();
        assert_eq!(
            decode(&one).width(),
            (MARGIN + 2 * (240 + GAP) - GAP + bar) as u32
        );
    }

    #[test]
    fn constant_heat_and_large_images_work() {
        let rgb = test_image(300, 400);
        let png = heatmap_overlay_png("flat", &rgb, [300, 400], &[0.25; 4], [2, 2]).unwrap();
        assert!(colours(&decode(&png)) > 50);
        // Degenerate shapes and an empty title do not panic either.
        let tall = test_image(1000, 2);
        assert!(heatmap_overlay_png("", &tall, [1000, 2], &[1.0; 3], [3, 1]).is_ok());
        assert!(similarity_grid_png("", &[1.0], [1, 1]).is_ok());
    }

    #[test]
    fn similarity_grid_is_drawn() {
        let png = similarity_grid_png("position embeddings", &similarities(4, 4), [4, 4]).unwrap();
        let img = decode(&png);
        let (w, h) = img.dimensions();
        // 4 maps of 4 cells of 40 px, 12 px apart.
        let grid = 4 * 160 + 3 * 12;
        assert!(
            w as i32 > grid + 100 && h as i32 > grid + TITLE_H,
            "{w}x{h}"
        );
        assert!(colours(&img) > 20, "only {} colours", colours(&img));
        // The diagonal of the top-left map (similarity 1) is yellow, its far corner darker.
        let (left, top) = ((MARGIN + 60) as u32, (TITLE_H + 8) as u32);
        assert_eq!(img.get_pixel(left + 20, top + 20).0, VIRIDIS[8]);
        assert_ne!(img.get_pixel(left + 140, top + 140).0, VIRIDIS[8]);
        // A non-square grid works too.
        assert!(similarity_grid_png("2x3", &similarities(2, 3), [2, 3]).is_ok());
    }

    #[test]
    fn attention_distance_scatter_is_drawn() {
        let distances: Vec<Vec<f32>> = (0..12)
            .map(|l| {
                (0..6)
                    .map(|h| 10.0 + l as f32 * (4.0 + 3.0 * h as f32))
                    .collect()
            })
            .collect();
        let png = attention_distance_png("mean attention distance", &distances, 128.0).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), (860, 460));
        assert!(colours(&img) > 50);
        // Many heads and a single layer work too (hue colours, truncated legend).
        let many = vec![(0..20).map(|h| h as f32).collect::<Vec<_>>()];
        assert!(attention_distance_png("20 heads", &many, 32.0).is_ok());
    }

    #[test]
    fn bad_input_is_an_error() {
        let rgb = test_image(16, 16);
        let heat = peak(4, 4, 0, 0);
        assert!(heatmap_overlay_png("t", &rgb[1..], [16, 16], &heat, [4, 4]).is_err());
        assert!(heatmap_overlay_png("t", &rgb, [0, 16], &heat, [4, 4]).is_err());
        assert!(heatmap_overlay_png("t", &rgb, [16, 16], &heat[1..], [4, 4]).is_err());
        assert!(heatmap_overlay_png("t", &rgb, [16, 16], &heat, [0, 4]).is_err());
        assert!(heatmap_overlay_png("t", &rgb, [16, 16], &[f32::NAN; 16], [4, 4]).is_err());
        assert!(heatmap_overlay_png("t", &rgb, [usize::MAX, 3], &heat, [4, 4]).is_err());
        assert!(overlay_panels_png("t", &rgb, [16, 16], &[], [4, 4]).is_err());
        let bad = vec![("p".to_string(), vec![0.0; 15])];
        assert!(overlay_panels_png("t", &rgb, [16, 16], &bad, [4, 4]).is_err());
        assert!(similarity_grid_png("t", &[0.0; 15], [2, 2]).is_err());
        assert!(similarity_grid_png("t", &[], [0, 2]).is_err());
        assert!(similarity_grid_png("t", &[0.0; 4], [usize::MAX, 2]).is_err());
        assert!(attention_distance_png("t", &[], 10.0).is_err());
        assert!(attention_distance_png("t", &[vec![]], 10.0).is_err());
        assert!(attention_distance_png("t", &[vec![f32::NAN]], 10.0).is_err());
        assert!(attention_distance_png("t", &[vec![-1.0]], 10.0).is_err());
        assert!(attention_distance_png("t", &[vec![1.0]], 0.0).is_err());
    }

    #[test]
    fn writes_samples_when_asked() {
        // Set VIZ_SAMPLES=dir to look at the figures by eye.
        let Ok(dir) = std::env::var("VIZ_SAMPLES") else {
            return;
        };
        let dir = std::path::Path::new(&dir);
        let digit = test_image(16, 16);
        let rgb = test_image(224, 224);
        let panels: Vec<_> = (0..4)
            .map(|i| {
                let label = if i == 0 {
                    "rollout".into()
                } else {
                    format!("head {i}")
                };
                (label, peak(14, 14, 3 + 2 * i, 10 - 2 * i))
            })
            .collect();
        let distances: Vec<Vec<f32>> = (0..12)
            .map(|l| {
                (0..12)
                    .map(|h| (8.0 + l as f32 * (1.0 + h as f32)).min(150.0))
                    .collect()
            })
            .collect();
        let figures = [
            (
                "overlay.png",
                heatmap_overlay_png(
                    "Class-token attention, digit 7",
                    &digit,
                    [16, 16],
                    &peak(4, 4, 1, 2),
                    [4, 4],
                ),
            ),
            (
                "panels.png",
                overlay_panels_png(
                    "Attention rollout and last-layer heads",
                    &rgb,
                    [224, 224],
                    &panels,
                    [14, 14],
                ),
            ),
            (
                "similarity.png",
                similarity_grid_png("Position embedding similarity", &similarities(7, 7), [7, 7]),
            ),
            (
                "similarity14.png",
                similarity_grid_png(
                    "Position embedding similarity (14x14)",
                    &similarities(14, 14),
                    [14, 14],
                ),
            ),
            (
                "distance.png",
                attention_distance_png("Mean attention distance (ViT-B/16)", &distances, 160.0),
            ),
        ];
        for (name, png) in figures {
            std::fs::write(dir.join(name), png.unwrap()).unwrap();
        }
    }
}
