//! Bilinear resizing of channel-major images (half-pixel centres, as PyTorch's
//! `align_corners=False`), for upscaling small data sets to the model's input.

/// Resizes `[channels, h, w]` to `[channels, out_h, out_w]`.
pub fn resize_bilinear(
    pixels: &[f32],
    channels: usize,
    [h, w]: [usize; 2],
    [out_h, out_w]: [usize; 2],
) -> Vec<f32> {
    if [h, w] == [out_h, out_w] {
        return pixels.to_vec();
    }
    // Source coordinate and the two neighbours with their weights, for each output index.
    let taps = |input: usize, output: usize| -> Vec<(usize, usize, f32)> {
        let scale = input as f32 / output as f32;
        (0..output)
            .map(|o| {
                let x = ((o as f32 + 0.5) * scale - 0.5).max(0.0);
                let x0 = (x.floor() as usize).min(input - 1);
                let x1 = (x0 + 1).min(input - 1);
                (x0, x1, x - x0 as f32)
            })
            .collect()
    };
    let (rows, cols) = (taps(h, out_h), taps(w, out_w));
    let mut out = Vec::with_capacity(channels * out_h * out_w);
    for c in 0..channels {
        let plane = &pixels[c * h * w..(c + 1) * h * w];
        for &(y0, y1, fy) in &rows {
            for &(x0, x1, fx) in &cols {
                let top = plane[y0 * w + x0] * (1.0 - fx) + plane[y0 * w + x1] * fx;
                let bottom = plane[y1 * w + x0] * (1.0 - fx) + plane[y1 * w + x1] * fx;
                out.push(top * (1.0 - fy) + bottom * fy);
            }
        }
    }
    out
}
