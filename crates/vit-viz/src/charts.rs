//! PNG charts of training curves, drawn with `plotters` into memory.
//!
//! Everything is pure Rust: text is rasterised with `ab_glyph` from the bundled
//! DejaVu Sans font ([`ensure_font`]), figures are drawn into an RGB buffer and
//! encoded with the `image` crate ([`encode_png`], [`render_png`]). Nothing here
//! touches the file system; callers write the returned bytes themselves.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Font family name under which the bundled font is registered.
pub(crate) const FONT: &str = "sans-serif";

/// Series colours, in order (matplotlib's colour-blind-friendly "tab10").
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One named curve: `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points in drawing order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One chart of a figure: a title, a y-axis description and its curves.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Caption above the chart.
    pub title: String,
    /// Description of the x axis ("epoch" for training curves).
    pub x_label: String,
    /// Description of the y axis.
    pub y_label: String,
    /// Curves drawn in this chart, each with its own colour and legend entry.
    pub series: Vec<Series>,
}

/// Registers the bundled DejaVu Sans as plotters' `"sans-serif"` font.
///
/// Idempotent and cheap after the first call; every drawing function of this
/// module calls it, other plotting code should too before drawing text.
pub fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(
                FONT,
                FontStyle::Normal,
                include_bytes!("../assets/DejaVuSans.ttf"),
            )
            .map_err(|_| "cannot load the bundled DejaVuSans.ttf font".to_string())
        })
        .clone()
}

/// Encodes a tightly packed RGB8 buffer (`width * height * 3` bytes) as PNG.
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(png)
}

/// Draws a `width`×`height` figure with `draw` on a white canvas and returns it as PNG.
///
/// The font is registered first, so `draw` may use text freely. This is the
/// shared entry point for every chart of the project.
pub fn render_png<F>(width: u32, height: u32, draw: F) -> Result<Vec<u8>, String>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
{
    ensure_font()?;
    if width == 0 || height == 0 {
        return Err(format!("invalid figure size {width}x{height}"));
    }
    let len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| format!("figure size {width}x{height} is too large"))?;
    let mut rgb = vec![0u8; len];
    {
        // The backend borrows the buffer; it must be gone before encoding.
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, width, height)
}

/// Draws `panels` side by side under a common `title` and returns the figure as PNG.
///
/// Each panel gets its caption, tick labels, axis descriptions (its `x_label` and
/// `y_label`), one coloured line with point markers per series and a legend.
/// Axis ranges follow the finite data points (NaN and infinite points are
/// skipped), padded so that a single point or a constant curve still shows.
/// Errors if there are no panels, a panel has no series or no finite point, or
/// drawing fails; a series without points is only left out.
pub fn line_panels_png(
    title: &str,
    panels: &[Panel],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, String> {
    if panels.is_empty() {
        return Err("no panels to plot".into());
    }
    let bounds = panels
        .iter()
        .map(|p| {
            if p.series.is_empty() {
                return Err(format!("panel {:?} has no series", p.title));
            }
            data_bounds(p).ok_or_else(|| format!("panel {:?} has no finite points", p.title))
        })
        .collect::<Result<Vec<_>, _>>()?;

    render_png(width, height, |root| {
        // A little air above the title, which plotters puts flush at the top.
        let body = root
            .margin(8, 0, 0, 0)
            .titled(title, (FONT, 26))
            .map_err(|e| e.to_string())?;
        let areas = body.split_evenly((1, panels.len()));
        for ((panel, bounds), area) in panels.iter().zip(&bounds).zip(&areas) {
            draw_panel(area, panel, bounds)?;
        }
        Ok(())
    })
}

/// Axis ranges of a panel: `(x_min, x_max, y_min, y_max)`, already padded.
type Bounds = (f64, f64, f64, f64);

/// The finite points of a series.
fn finite(series: &Series) -> impl Iterator<Item = (f64, f64)> + '_ {
    series
        .points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Padded axis ranges of a panel's finite points, `None` if it has none.
fn data_bounds(panel: &Panel) -> Option<Bounds> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in panel.series.iter().flat_map(finite) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return None;
    }
    // Epochs usually start at 1; a single epoch gets a unit-wide range around it.
    let (x0, x1) = if x1 <= x0 {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1)
    };
    // A flat curve would give an empty range; pad relative to its magnitude.
    let span = y1 - y0;
    let pad = if span > 1e-9 * y0.abs().max(y1.abs()) && span > 0.0 {
        span * 0.05
    } else {
        (y0.abs() * 0.05).max(0.5)
    };
    Some((x0, x1, y0 - pad, y1 + pad))
}

/// Tick label of the epoch axis: integral epochs without decimals.
fn epoch_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round())
    } else {
        format!("{x:.1}")
    }
}

/// Draws one panel (chart, curves and legend) into `area`.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    panel: &Panel,
    &(x0, x1, y0, y1): &Bounds,
) -> Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;

    // Few enough x ticks that the "nice" step lands on whole epochs.
    let x_ticks = ((x1 - x0).round() as usize + 1).clamp(2, 10);
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(&panel.y_label)
        .x_labels(x_ticks)
        .y_labels(8)
        .x_label_formatter(&epoch_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()
        .map_err(|e| e.to_string())?;

    for (i, series) in panel.series.iter().enumerate() {
        let points: Vec<_> = finite(series).collect();
        if points.is_empty() {
            continue;
        }
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))
            .map_err(|e| e.to_string())?
            .label(&series.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
    }

    chart
        .configure_series_labels()
        .position(legend_position(panel, (x0, x1, y0, y1)))
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| e.to_string())
}

/// Puts the legend in the right-hand corner the curves leave free: bottom if
/// the last third of the data sits mostly in the upper half (rising accuracy),
/// top otherwise (falling loss).
fn legend_position(panel: &Panel, (x0, x1, y0, y1): Bounds) -> SeriesLabelPosition {
    let x_cut = x1 - (x1 - x0) / 3.0;
    let (sum, n) = panel
        .series
        .iter()
        .flat_map(finite)
        .filter(|&(x, _)| x >= x_cut)
        .fold((0.0, 0usize), |(s, n), (_, y)| {
            (s + (y - y0) / (y1 - y0), n + 1)
        });
    if n > 0 && sum / n as f64 > 0.5 {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, f: impl Fn(f64) -> f64, epochs: usize) -> Series {
        let points = (1..=epochs).map(|e| (e as f64, f(e as f64))).collect();
        Series {
            name: name.into(),
            points,
        }
    }

    fn training_panels(epochs: usize) -> Vec<Panel> {
        vec![
            Panel {
                title: "Loss".into(),
                x_label: "epoch".into(),
                y_label: "cross-entropy".into(),
                series: vec![
                    series("train loss", |e| 2.3 * (-0.25 * e).exp() + 0.1, epochs),
                    series("valid loss", |e| 2.2 * (-0.2 * e).exp() + 0.25, epochs),
                ],
            },
            Panel {
                title: "Accuracy".into(),
                x_label: "epoch".into(),
                y_label: "accuracy (%)".into(),
                series: vec![
                    series("train top-1", |e| 100.0 - 85.0 * (-0.3 * e).exp(), epochs),
                    series("valid top-1", |e| 95.0 - 80.0 * (-0.25 * e).exp(), epochs),
                    series("valid top-5", |e| 99.5 - 50.0 * (-0.5 * e).exp(), epochs),
                ],
            },
        ]
    }

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("valid PNG")
            .to_rgb8()
    }

    #[test]
    fn two_panel_figure_is_a_nonblank_png() {
        let png = line_panels_png("Training", &training_panels(12), 1200, 500).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), (1200, 500));

        let colours: std::collections::HashSet<_> = img.pixels().map(|p| p.0).collect();
        assert!(colours.len() > 50, "only {} colours", colours.len());
        // The centred title occupies the top rows.
        let dark_in_title = (0..30)
            .flat_map(|y| (500..700).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count();
        assert!(
            dark_in_title > 20,
            "title region has {dark_in_title} dark pixels"
        );
    }

    #[test]
    fn single_epoch_constant_series_works() {
        let panel = Panel {
            title: "Loss".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![series("train loss", |_| 1.0, 1), series("zero", |_| 0.0, 1)],
        };
        let png = line_panels_png("One epoch", &[panel], 400, 300).unwrap();
        assert_eq!(decode(&png).dimensions(), (400, 300));
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(line_panels_png("t", &[], 400, 300).is_err());
        let no_series = Panel {
            title: "p".into(),
            x_label: "epoch".into(),
            y_label: "y".into(),
            series: vec![],
        };
        assert!(line_panels_png("t", &[no_series], 400, 300).is_err());
        let no_points = Panel {
            title: "p".into(),
            x_label: "epoch".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "s".into(),
                points: vec![],
            }],
        };
        assert!(line_panels_png("t", &[no_points], 400, 300).is_err());
        assert!(line_panels_png("t", &training_panels(3), 0, 300).is_err());
    }

    #[test]
    fn non_finite_points_are_skipped() {
        let points = vec![
            (1.0, 2.0),
            (2.0, f64::NAN),
            (3.0, f64::INFINITY),
            (f64::NAN, 1.0),
            (4.0, 1.5),
        ];
        let panel = Panel {
            title: "Loss".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series {
                    name: "train".into(),
                    points,
                },
                Series {
                    name: "all NaN".into(),
                    points: vec![(1.0, f64::NAN)],
                },
            ],
        };
        assert!(line_panels_png("NaN", std::slice::from_ref(&panel), 400, 300).is_ok());
        let only_nan = Panel {
            series: vec![panel.series[1].clone()],
            ..panel
        };
        assert!(line_panels_png("NaN", &[only_nan], 400, 300).is_err());
    }

    #[test]
    fn tiny_figure_does_not_panic() {
        // Plotters may refuse a too-small canvas; it must not panic.
        let _ = line_panels_png("t", &training_panels(3), 20, 10);
    }

    #[test]
    fn writes_sample_when_asked() {
        // Set PLOT_SAMPLE=path to look at the output by eye.
        if let Ok(path) = std::env::var("PLOT_SAMPLE") {
            let png = line_panels_png("ViT-Tiny on digits", &training_panels(20), 1200, 500);
            std::fs::write(path, png.unwrap()).unwrap();
        }
    }
}
