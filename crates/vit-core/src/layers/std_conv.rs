//! Weight-standardised convolution (timm's `StdConv2dSame`; Qiao et al. 2019), the convolution of
//! the BiT / ViT-hybrid ResNets: each output filter is normalised to zero mean and unit variance
//! before use, and the input gets TensorFlow's "SAME" padding.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use vit_ops::VitBackend;

use crate::layers::same_pad::pad_same;

/// Configuration of a [`StdConv2d`].
#[derive(Config, Debug)]
pub struct StdConv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel_size: usize,
    /// Stride.
    #[config(default = 1)]
    pub stride: usize,
    /// Added to each filter's variance (timm's hybrids: 1e-8).
    #[config(default = 1e-8)]
    pub eps: f64,
}

/// A bias-free convolution whose filters are standardised on the fly (timm key `weight`,
/// `[out, in, k, k]`), with "SAME" padding.
#[derive(Module, Debug)]
pub struct StdConv2d<B: VitBackend> {
    /// The raw filters `[out, in, k, k]`.
    pub weight: Param<Tensor<B, 4>>,
    /// Stride.
    pub stride: usize,
    /// Added to each filter's variance.
    pub eps: f64,
}

impl StdConv2dConfig {
    /// Builds the layer (Kaiming-uniform filters, as PyTorch's default).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> StdConv2d<B> {
        let k = self.kernel_size;
        let fan_in = self.in_channels * k * k;
        StdConv2d {
            weight: Initializer::KaimingUniform {
                gain: 1.0 / 3f64.sqrt(),
                fan_out_only: false,
            }
            .init_with(
                [self.out_channels, self.in_channels, k, k],
                Some(fan_in),
                None,
                device,
            ),
            stride: self.stride,
            eps: self.eps,
        }
    }
}

impl<B: VitBackend> StdConv2d<B> {
    /// The standardised filters: per output channel, `(w − mean)/√(var + eps)` with the biased
    /// variance (timm's `F.batch_norm(w, training=True)`).
    pub fn standardized_weight(&self) -> Tensor<B, 4> {
        let weight = self.weight.val();
        let [o, i, kh, kw] = weight.dims();
        let flat = weight.reshape([o, i * kh * kw]);
        let centred = flat.clone() - flat.mean_dim(1);
        let var = (centred.clone() * centred.clone()).mean_dim(1);
        (centred / (var + self.eps).sqrt()).reshape([o, i, kh, kw])
    }

    /// Convolves `x [batch, in, h, w]` → `[batch, out, ⌈h/stride⌉, ⌈w/stride⌉]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let weight = self.standardized_weight();
        let k = weight.dims()[2];
        let x = pad_same(x, k, self.stride, 0.0);
        let options = ConvOptions::new([self.stride; 2], [0, 0], [1, 1], 1);
        conv2d(x, weight, None, options)
    }
}
