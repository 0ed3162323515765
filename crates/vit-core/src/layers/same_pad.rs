//! TensorFlow's "SAME" padding, as timm's `pad_same`: the input is padded so that a strided
//! window covers it in `⌈size/stride⌉` steps, the odd pixel going to the bottom/right.

use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;
use vit_ops::VitBackend;

/// Padding `(before, after)` of one side of `size` pixels for a window of `kernel` at `stride`
/// (timm's `get_same_padding`, then split as `pad_same` splits it).
pub fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let total = ((size.div_ceil(stride)).saturating_sub(1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// `x [batch, channels, height, width]` padded with `value` for a square `kernel` at `stride`.
pub fn pad_same<B: VitBackend>(
    x: Tensor<B, 4>,
    kernel: usize,
    stride: usize,
    value: f32,
) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    let (top, bottom) = same_padding(h, kernel, stride);
    let (left, right) = same_padding(w, kernel, stride);
    if top + bottom + left + right == 0 {
        return x;
    }
    x.pad((left, right, top, bottom), PadMode::Constant(value))
}
