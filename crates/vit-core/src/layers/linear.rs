//! Burn's `Linear` run through [`vit_ops::linear`]: one GEMM with the bias folded in on the CPU
//! backends, and one autodiff node with a fused backward pass. Inside an autocast scope
//! ([`crate::precision`]) the product takes its operands in the low precision.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::precision::{Precision, current, from_autocast, to_autocast};

/// `layer(x)` for `x [..., d_in]`: the same numbers as `layer.forward(x)`, on the fast path.
pub fn linear<B: VitBackend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    linear_parts(x, layer.weight.val(), layer.bias.as_ref().map(Param::val))
}

/// `gamma · layer(x)` (a LayerScale `gamma [d_out]` after the layer) as one product: the scale
/// folded into the weight's columns and the bias (`d_in·d_out` multiplies instead of a pass over
/// every token), differentiable in `gamma` as in the weights.
pub fn linear_scaled<B: VitBackend, const D: usize>(
    layer: &Linear<B>,
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
) -> Tensor<B, D> {
    let weight = layer.weight.val() * gamma.clone().unsqueeze_dim::<2>(0);
    let bias = layer.bias.as_ref().map(|b| b.val() * gamma);
    linear_parts(x, weight, bias)
}

/// `x·W + b` for `x [..., d_in]`, `weight [d_in, d_out]`, `bias [d_out]` (a projection whose
/// weights are not a `Linear`, e.g. the patch embedding's convolution kernel), autocast-aware.
pub fn linear_parts<B: VitBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    if current() == Precision::F32 {
        return vit_ops::linear(x, weight, bias);
    }
    // The product in the low precision, rounded once; the bias added in f32 after it, as the
    // GEMM epilogues of cuBLAS and oneDNN add it before their single rounding (a bias added in
    // bf16 would round the sum a second time).
    let product = from_autocast(vit_ops::linear(to_autocast(x), to_autocast(weight), None));
    match bias {
        Some(bias) => product + bias.unsqueeze(),
        None => product,
    }
}
