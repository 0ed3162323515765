//! LayerNorm over the last dimension on [`vit_ops::layer_norm`] (one fused kernel on the CPU
//! backends, forward and backward). Drop-in for `burn::nn::LayerNorm`: same config, same
//! parameter names (`gamma`, `beta`), so records and timm key mapping are unchanged.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

/// Configuration of a [`LayerNorm`].
#[derive(Config, Debug)]
pub struct LayerNormConfig {
    /// Size of the normalised (last) dimension.
    pub d_model: usize,
    /// Added to the variance before the square root (PyTorch's default 1e-5; timm's ViT 1e-6).
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Whether there is a learnt shift `beta`.
    #[config(default = true)]
    pub bias: bool,
}

/// `(x − mean)/√(var + ε)·γ + β` over the last dimension, `γ` initialised to 1 and `β` to 0.
#[derive(Module, Debug)]
pub struct LayerNorm<B: VitBackend> {
    /// Scale `γ`, `[d_model]`.
    pub gamma: Param<Tensor<B, 1>>,
    /// Shift `β`, `[d_model]`.
    pub beta: Option<Param<Tensor<B, 1>>>,
    /// Added to the variance.
    pub epsilon: f64,
}

impl LayerNormConfig {
    /// Builds the layer on `device`.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> LayerNorm<B> {
        LayerNorm {
            gamma: Initializer::Ones.init([self.d_model], device),
            beta: self
                .bias
                .then(|| Initializer::Zeros.init([self.d_model], device)),
            epsilon: self.epsilon,
        }
    }
}

impl<B: VitBackend> LayerNorm<B> {
    /// Normalises `x [..., d_model]` over its last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        vit_ops::layer_norm(
            x,
            self.gamma.val(),
            self.beta.as_ref().map(Param::val),
            self.epsilon,
        )
    }
}
