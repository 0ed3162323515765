//! LayerScale (CaiT): a learned per-channel scale on each residual branch.

use burn::module::{Initializer, Module, Param};
use burn::tensor::Tensor;
use vit_ops::VitBackend;

/// Multiplies the last dimension by a learned vector `gamma`, initialised to `init_values`
/// (timm key `ls1.gamma` / `ls2.gamma`).
#[derive(Module, Debug)]
pub struct LayerScale<B: VitBackend> {
    /// The per-channel scale `[dim]`.
    pub gamma: Param<Tensor<B, 1>>,
}

impl<B: VitBackend> LayerScale<B> {
    /// A LayerScale over `dim` channels, every scale set to `init_values`.
    pub fn new(dim: usize, init_values: f64, device: &B::Device) -> Self {
        Self {
            gamma: Initializer::Constant { value: init_values }.init([dim], device),
        }
    }

    /// Scales `x [..., dim]` channel-wise.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        x * self.gamma.val().unsqueeze()
    }
}
