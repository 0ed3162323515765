//! [`VitBackend`]: the ViT's hot operations as an extension of Burn's `Backend`.

use burn::tensor::FloatDType;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

use crate::composed;

/// A Burn backend with the operations a Vision Transformer spends its time in.
///
/// Every method has a default body composed from Burn ops ([`crate::composed`]); the CPU
/// backends (NdArray, Flex) replace them with vectorised kernels, and `Autodiff<B>` records each
/// op as one node whose backward pass calls `B`'s fused backward method. Implemented for every
/// backend Burn 0.21 ships (each behind this crate's feature of the same name), so every zoo
/// model runs on all of them.
///
/// Shapes: `x` is `[..., d]`; the ops work on the last dimension.
pub trait VitBackend: Backend {
    /// Whether `Autodiff<Self>` should record the ops below as single nodes with fused backward
    /// passes (true where `Self` has kernels for them). Otherwise autodiff sees Burn's own
    /// composition, as if this crate were not there.
    fn vit_fused_autodiff() -> bool {
        false
    }

    /// Whether [`Self::vit_round`] runs on f32 tensors without the half types (a host kernel):
    /// then autocast works on this backend even where it has no bf16/f16 tensors (NdArray).
    fn vit_host_rounding() -> bool {
        false
    }

    /// `x` (f32) rounded to `dtype`'s precision (bf16 or f16; nearest, ties to even), still f32
    /// — how autocast rounds products' operands and results on devices without fast half
    /// arithmetic. Its gradient is the incoming gradient rounded the same way (the gradient of
    /// a conversion there and back).
    fn vit_round(x: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        composed::round_to::<Self>(x, dtype)
    }

    /// Exact GELU, `x·Φ(x)`.
    fn vit_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::gelu::<Self>(x)
    }

    /// `grad · gelu'(x)`.
    fn vit_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::gelu_backward::<Self>(x, grad)
    }

    /// `act(x)` for the activations of [`crate::Activation`].
    fn vit_activation(x: FloatTensor<Self>, act: crate::Activation) -> FloatTensor<Self> {
        composed::activation::<Self>(x, act)
    }

    /// `grad · act'(x)`.
    fn vit_activation_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: crate::Activation,
    ) -> FloatTensor<Self> {
        composed::activation_backward::<Self>(x, grad, act)
    }

    /// The gated unit `act(gate) ⊙ value` (SwiGLU's), both `[..., d]`.
    fn vit_glu(
        gate: FloatTensor<Self>,
        value: FloatTensor<Self>,
        act: crate::Activation,
    ) -> FloatTensor<Self> {
        composed::glu::<Self>(gate, value, act)
    }

    /// Gradients of [`Self::vit_glu`]: `(dgate, dvalue)`.
    fn vit_glu_backward(
        gate: FloatTensor<Self>,
        value: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        act: crate::Activation,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::glu_backward::<Self>(gate, value, grad, act)
    }

    /// Softmax over the last dimension.
    fn vit_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::softmax::<Self>(x)
    }

    /// Gradient of softmax from its output `y`: `y ⊙ (grad − Σ grad⊙y)`.
    fn vit_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        composed::softmax_backward::<Self>(y, grad)
    }

    /// LayerNorm over the last dimension: `(x − mean)/√(var + eps)·γ + β`, `γ`/`β` of shape `[d]`.
    fn vit_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        composed::layer_norm::<Self>(x, gamma, beta, eps)
    }

    /// Gradients of [`Self::vit_layer_norm`]: `(dx, dγ, dβ)`.
    fn vit_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed::layer_norm_backward::<Self>(x, gamma, grad, eps)
    }

    /// RMSNorm over the last dimension: `x/√(mean(x²) + eps)·γ`, `γ` of shape `[d]`.
    fn vit_rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f64) -> FloatTensor<Self> {
        composed::rms_norm::<Self>(x, gamma, eps)
    }

    /// Gradients of [`Self::vit_rms_norm`]: `(dx, dγ)`.
    fn vit_rms_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::rms_norm_backward::<Self>(x, gamma, grad, eps)
    }

    /// `x·W + b` with Burn's Linear layout: `W` is `[d_in, d_out]`, `b` is `[d_out]`.
    fn vit_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        composed::linear::<Self>(x, weight, bias)
    }

    /// Gradients of [`Self::vit_linear`]: `(dx, dW, db)`, `db` when `with_bias`.
    fn vit_linear_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        with_bias: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        Option<FloatTensor<Self>>,
    ) {
        composed::linear_backward::<Self>(x, weight, grad, with_bias)
    }

    /// Multi-head self-attention from timm's fused projection `qkv [b, n, 3·heads·d]` (q, k, v
    /// parts, each head-major): `softmax(scale·q·kᵀ + bias)·v` with the heads merged back,
    /// `[b, n, heads·d]`. `bias` is `[1 | b, 1 | heads, n, n]` (Swin's relative position bias and
    /// shift mask).
    fn vit_attention(
        qkv: FloatTensor<Self>,
        heads: usize,
        scale: f64,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        composed::attention::<Self>(qkv, heads, scale, bias)
    }

    /// [`Self::vit_attention`] that also returns the weights `[b, heads, n, n]`.
    fn vit_attention_with_weights(
        qkv: FloatTensor<Self>,
        heads: usize,
        scale: f64,
        bias: Option<FloatTensor<Self>>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::attention_with_weights::<Self>(qkv, heads, scale, bias)
    }

    /// Gradients of [`Self::vit_attention`] from its `weights` and the output gradient:
    /// `(dqkv, dscores)`, `dscores [b, heads, n, n]` when `with_scores`.
    fn vit_attention_backward(
        qkv: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        heads: usize,
        scale: f64,
        with_scores: bool,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        composed::attention_backward::<Self>(qkv, weights, grad, heads, scale, with_scores)
    }

    /// Rotary position embeddings on timm's fused `qkv [b, n, 3·heads·d]`: the queries and keys
    /// of the tokens after the first `prefix` become `x·cos + rot(x)·sin`, tables `sin`/`cos`
    /// `[1 | heads, n − prefix, d]` in the interleaved (`rot` pairs `(2i, 2i+1)`) or
    /// `rotate_half` (`(i, i + d/2)`) layout, both channels of a pair sharing their value (as every
    /// RoPE table does); values and prefix tokens pass unchanged. Its gradient with respect to
    /// `qkv` is the same op with `−sin` (a rotation's transpose).
    fn vit_rope_qkv(
        qkv: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        heads: usize,
        prefix: usize,
        rotate_half: bool,
    ) -> FloatTensor<Self> {
        composed::rope_qkv::<Self>(qkv, sin, cos, heads, prefix, rotate_half)
    }

    /// Depthwise 3×3 convolution, stride 1, zero padding 1, on channels-last tokens
    /// `x [b, h·w, c]` of a `[h, w]` grid: `y[p] = bias + Σ_t weight[·, t] ⊙ x[p + offset(t)]`,
    /// `weight [c, 9]` (taps row-major), `bias [c]` — XCiT's local patch interaction without
    /// layout copies.
    fn vit_depthwise_conv3x3(
        x: FloatTensor<Self>,
        grid: [usize; 2],
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        composed::depthwise_conv3x3::<Self>(x, grid, weight, bias)
    }

    /// Gradients of [`Self::vit_depthwise_conv3x3`]: `(dx, dweight, dbias)`.
    fn vit_depthwise_conv3x3_backward(
        x: FloatTensor<Self>,
        grid: [usize; 2],
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed::depthwise_conv3x3_backward::<Self>(x, grid, weight, grad)
    }
}
