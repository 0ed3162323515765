//! Batch normalisation at inference (timm's `BatchNormAct2d` in eval mode): the running statistics
//! loaded from the checkpoint normalise each channel; an optional activation follows.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::layers::activation::Activation;

/// Configuration of a [`BatchNormAct`].
#[derive(Config, Debug)]
pub struct BatchNormActConfig {
    /// Channels.
    pub num_channels: usize,
    /// Added to the running variance (PyTorch's default 1e-5).
    #[config(default = 1e-5)]
    pub eps: f64,
    /// The activation after the affine transform, if any.
    #[config(default = "None")]
    pub act: Option<Activation>,
}

/// `(x − running_mean)/√(running_var + eps)·weight + bias`, then the activation; timm keys
/// `weight`, `bias`, `running_mean`, `running_var` (`num_batches_tracked` is not needed).
///
/// Always the inference form: the running statistics are the checkpoint's and are not updated
/// by training (fine-tuning a hybrid keeps its ConvStem's statistics, as a frozen BatchNorm).
#[derive(Module, Debug)]
pub struct BatchNormAct<B: VitBackend> {
    /// Per-channel scale.
    pub weight: Param<Tensor<B, 1>>,
    /// Per-channel shift.
    pub bias: Param<Tensor<B, 1>>,
    /// Per-channel mean of the training data.
    pub running_mean: Param<Tensor<B, 1>>,
    /// Per-channel variance of the training data.
    pub running_var: Param<Tensor<B, 1>>,
    /// Added to the variance.
    pub eps: f64,
    /// The activation after the affine transform.
    pub act: Option<Activation>,
}

impl BatchNormActConfig {
    /// Builds the layer (scale 1, shift 0, mean 0, variance 1).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> BatchNormAct<B> {
        let c = self.num_channels;
        let frozen = |init: Initializer| init.init([c], device).set_require_grad(false);
        BatchNormAct {
            weight: Initializer::Ones.init([c], device),
            bias: Initializer::Zeros.init([c], device),
            running_mean: frozen(Initializer::Zeros),
            running_var: frozen(Initializer::Ones),
            eps: self.eps,
            act: self.act,
        }
    }
}

impl<B: VitBackend> BatchNormAct<B> {
    /// The per-channel scale `weight/√(running_var + eps)` and shift `bias − running_mean·scale`
    /// the normalisation amounts to.
    pub fn scale_shift(&self) -> (Tensor<B, 1>, Tensor<B, 1>) {
        let scale = self.weight.val() / (self.running_var.val() + self.eps).sqrt();
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        (scale, shift)
    }

    /// Normalises `x [batch, channels, height, width]` per channel: one scale and one shift per
    /// channel (`weight/√(var + eps)`, `bias − mean·scale`), computed on the channel vectors, so
    /// the map takes two passes.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let (scale, shift) = self.scale_shift();
        let c = x.dims()[1];
        let shape = [1, c, 1, 1];
        let y = x * scale.reshape(shape) + shift.reshape(shape);
        match self.act {
            Some(act) => act.forward(y),
            None => y,
        }
    }
}
