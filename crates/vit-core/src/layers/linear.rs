//! Burn's `Linear` run through [`vit_ops::linear`]: one GEMM with the bias folded in on the CPU
//! backends, and one autodiff node with a fused backward pass.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

/// `layer(x)` for `x [..., d_in]`: the same numbers as `layer.forward(x)`, on the fast path.
pub fn linear<B: VitBackend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    vit_ops::linear(x, layer.weight.val(), layer.bias.as_ref().map(Param::val))
}
