//! Group normalisation with an optional ReLU (timm's `GroupNormAct`), the norm of the hybrids'
//! ResNetV2: channels split into groups, each normalised over its channels and pixels.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use vit_ops::VitBackend;

/// Configuration of a [`GroupNormAct`].
#[derive(Config, Debug)]
pub struct GroupNormActConfig {
    /// Channels.
    pub num_channels: usize,
    /// Groups (timm's ResNetV2: 32); must divide the channels.
    #[config(default = 32)]
    pub num_groups: usize,
    /// Added to each group's variance (PyTorch's default 1e-5).
    #[config(default = 1e-5)]
    pub eps: f64,
    /// ReLU after the affine transform.
    #[config(default = true)]
    pub apply_act: bool,
}

/// `GroupNorm` (timm keys `weight`, `bias`, `[channels]`) then an optional ReLU, over
/// `[batch, channels, height, width]`.
#[derive(Module, Debug)]
pub struct GroupNormAct<B: VitBackend> {
    /// Per-channel scale.
    pub weight: Param<Tensor<B, 1>>,
    /// Per-channel shift.
    pub bias: Param<Tensor<B, 1>>,
    /// Groups.
    pub num_groups: usize,
    /// Added to the variance.
    pub eps: f64,
    /// ReLU after the affine transform.
    pub apply_act: bool,
}

impl GroupNormActConfig {
    /// Builds the layer (scale 1, shift 0).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> GroupNormAct<B> {
        assert!(
            self.num_groups > 0 && self.num_channels.is_multiple_of(self.num_groups),
            "{} channels do not split into {} groups",
            self.num_channels,
            self.num_groups
        );
        GroupNormAct {
            weight: Initializer::Ones.init([self.num_channels], device),
            bias: Initializer::Zeros.init([self.num_channels], device),
            num_groups: self.num_groups,
            eps: self.eps,
            apply_act: self.apply_act,
        }
    }
}

impl<B: VitBackend> GroupNormAct<B> {
    /// Normalises `x [batch, channels, height, width]` per group.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let g = self.num_groups;
        let grouped = x.reshape([b, g, (c / g) * h * w]);
        let centred = grouped.clone() - grouped.mean_dim(2);
        let var = (centred.clone() * centred.clone()).mean_dim(2);
        let normed = (centred / (var + self.eps).sqrt()).reshape([b, c, h, w]);
        let scale = self.weight.val().reshape([1, c, 1, 1]);
        let shift = self.bias.val().reshape([1, c, 1, 1]);
        let y = normed * scale + shift;
        if self.apply_act { relu(y) } else { y }
    }
}
