//! Cutting a `[batch, H, W, C]` token map into windows and back, and the mask that keeps
//! shifted windows from attending across the image's wrapped-around edges.

use burn::tensor::{Tensor, TensorData};
use vit_core::VitBackend;

/// `[B, H, W, C]` (H, W multiples of the window) → `[B·windows, wh·ww, C]`, windows row-major.
pub fn window_partition<B: VitBackend>(x: Tensor<B, 4>, window: [usize; 2]) -> Tensor<B, 3> {
    let [b, h, w, c] = x.dims();
    let [wh, ww] = window;
    x.reshape([b, h / wh, wh, w / ww, ww, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([b * (h / wh) * (w / ww), wh * ww, c])
}

/// Inverse of [`window_partition`] for a `[height, width]` map.
pub fn window_reverse<B: VitBackend>(
    windows: Tensor<B, 3>,
    window: [usize; 2],
    size: [usize; 2],
) -> Tensor<B, 4> {
    let [bw, _, c] = windows.dims();
    let [wh, ww] = window;
    let [h, w] = size;
    let b = bw / ((h / wh) * (w / ww));
    windows
        .reshape([b, h / wh, w / ww, wh, ww, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([b, h, w, c])
}

/// timm's shifted-window mask for a (padded) `[height, width]` map: `[windows, N, N]` with 0
/// where query and key come from the same region of the cyclically shifted image, −100 elsewhere.
pub fn shifted_window_mask<B: VitBackend>(
    size: [usize; 2],
    window: [usize; 2],
    shift: [usize; 2],
    device: &B::Device,
) -> Tensor<B, 3> {
    let [h, w] = size;
    let [wh, ww] = window;
    // Three bands per axis: [0, size−window), [size−window, size−shift), [size−shift, size).
    let band = |i: usize, size: usize, win: usize, sh: usize| {
        if i < size - win {
            0
        } else if i < size - sh {
            1
        } else {
            2
        }
    };
    let region = |y: usize, x: usize| band(y, h, wh, shift[0]) * 3 + band(x, w, ww, shift[1]);
    let n = wh * ww;
    let windows = (h / wh) * (w / ww);
    let mut mask = Vec::with_capacity(windows * n * n);
    for wy in 0..h / wh {
        for wx in 0..w / ww {
            let ids: Vec<usize> = (0..n)
                .map(|i| region(wy * wh + i / ww, wx * ww + i % ww))
                .collect();
            for &a in &ids {
                mask.extend(ids.iter().map(|&b| if a == b { 0.0f32 } else { -100.0 }));
            }
        }
    }
    Tensor::from_data(TensorData::new(mask, [windows, n, n]), device)
}
