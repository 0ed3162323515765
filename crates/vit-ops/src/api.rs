//! The ops on Burn's `Tensor`, for model code: `vit_ops::gelu(x)` instead of
//! `burn::tensor::activation::gelu(x)`.

use burn::tensor::{Tensor, TensorPrimitive};

use crate::VitBackend;

fn float<B: VitBackend, const D: usize>(x: Tensor<B, D>) -> burn::tensor::ops::FloatTensor<B> {
    x.into_primitive().tensor()
}

fn tensor<B: VitBackend, const D: usize>(x: burn::tensor::ops::FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(x))
}

/// Exact GELU (`x·Φ(x)`, the erf form timm uses), any shape.
pub fn gelu<B: VitBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    tensor(B::vit_gelu(float(x)))
}

/// `act(x)` element-wise for the activations of [`crate::Activation`], any shape.
pub fn activation<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    act: crate::Activation,
) -> Tensor<B, D> {
    tensor(B::vit_activation(float(x), act))
}

/// The gated unit of SwiGLU, `act(gate) ⊙ value` (same shapes).
pub fn glu<B: VitBackend, const D: usize>(
    gate: Tensor<B, D>,
    value: Tensor<B, D>,
    act: crate::Activation,
) -> Tensor<B, D> {
    tensor(B::vit_glu(float(gate), float(value), act))
}

/// `x` (f32) rounded to `dtype`'s precision (bf16/f16), still f32; differentiable (the
/// gradient is rounded the same way). See [`VitBackend::vit_round`].
pub fn round_to<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    dtype: burn::tensor::FloatDType,
) -> Tensor<B, D> {
    tensor(B::vit_round(float(x), dtype))
}

/// Softmax over the last dimension.
pub fn softmax_last<B: VitBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    tensor(B::vit_softmax(float(x)))
}

/// LayerNorm over the last dimension with scale `gamma [d]` and optional shift `beta [d]`.
pub fn layer_norm<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    eps: f64,
) -> Tensor<B, D> {
    tensor(B::vit_layer_norm(
        float(x),
        float(gamma),
        beta.map(float),
        eps,
    ))
}

/// RMSNorm over the last dimension with scale `gamma [d]`: `x/√(mean(x²) + eps)·γ`.
pub fn rms_norm<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    eps: f64,
) -> Tensor<B, D> {
    tensor(B::vit_rms_norm(float(x), float(gamma), eps))
}

/// `x·W + b` for `x [..., d_in]`, `weight [d_in, d_out]` (Burn's Linear layout), `bias [d_out]`.
pub fn linear<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    if D == 1 {
        // One vector: the kernels work on rows, so give it one.
        return linear(x.unsqueeze::<2>(), weight, bias).squeeze_dim(0);
    }
    tensor(B::vit_linear(float(x), float(weight), bias.map(float)))
}

/// Multi-head self-attention from timm's fused projection `qkv [batch, tokens, 3·heads·d]`:
/// `softmax(scale·q·kᵀ + bias)·v`, heads merged, `[batch, tokens, heads·d]`. `bias` (Swin's
/// relative position bias and shift mask) is `[1 | batch, 1 | heads, tokens, tokens]`.
pub fn attention<B: VitBackend>(
    qkv: Tensor<B, 3>,
    heads: usize,
    scale: f64,
    bias: Option<Tensor<B, 4>>,
) -> Tensor<B, 3> {
    tensor(B::vit_attention(float(qkv), heads, scale, bias.map(float)))
}

/// Rotary position embeddings on timm's fused `qkv [batch, tokens, 3·heads·d]`, in place of
/// splitting it: the patch tokens' (after the first `prefix`) queries and keys rotated by the
/// tables `sin`/`cos` `[1 | heads, patches, d]` (interleaved pairs or `rotate_half`, both channels
/// of a pair sharing their value), ready for
/// [`attention`]. Differentiable in `qkv` and in the tables (learned frequencies).
pub fn rope_qkv<B: VitBackend>(
    qkv: Tensor<B, 3>,
    sin: Tensor<B, 3>,
    cos: Tensor<B, 3>,
    heads: usize,
    prefix: usize,
    rotate_half: bool,
) -> Tensor<B, 3> {
    tensor(B::vit_rope_qkv(
        float(qkv),
        float(sin),
        float(cos),
        heads,
        prefix,
        rotate_half,
    ))
}

/// Depthwise 3×3 convolution, stride 1, zero padding 1, on channels-last tokens `x [b, h·w, c]`
/// of a `[h, w]` grid, `weight [c, 9]` (taps row-major: Burn's `[c, 1, 3, 3]` kernel reshaped),
/// `bias [c]`; `[b, h·w, c]` out. Differentiable in all three.
pub fn depthwise_conv3x3<B: VitBackend>(
    x: Tensor<B, 3>,
    grid: [usize; 2],
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 3> {
    tensor(B::vit_depthwise_conv3x3(
        float(x),
        grid,
        float(weight),
        bias.map(float),
    ))
}
