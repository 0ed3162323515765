//! timm's `ConvStem` (the stem of `vit_base_mci_224`, MobileCLIP's image tower): unpadded
//! convolutions with BatchNorm + GELU between them; the last convolution has a bias and nothing
//! after it.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;
use vit_ops::VitBackend;

use crate::layers::activation::Activation;
use crate::layers::batch_norm::{BatchNormAct, BatchNormActConfig};

/// Configuration of a `ConvStem`.
#[derive(Config, Debug)]
pub struct ConvStemConfig {
    /// Image channels.
    pub in_chans: usize,
    /// Output channels of each convolution.
    pub channels: Vec<usize>,
    /// Stride of each convolution.
    pub stride: Vec<usize>,
    /// Kernel side of each convolution.
    pub kernel_size: Vec<usize>,
}

/// One convolution with its BatchNorm + GELU (absent after the last); timm keys `conv`, `bn`.
#[derive(Module, Debug)]
pub struct ConvNormAct<B: VitBackend> {
    /// The convolution (a bias on the last only).
    pub conv: Conv2d<B>,
    /// BatchNorm + GELU (eval mode: running statistics).
    pub bn: Option<BatchNormAct<B>>,
}

impl<B: VitBackend> ConvNormAct<B> {
    /// Runs the convolution, then the norm and activation when present. The norm is folded into
    /// the convolution (kernels times the norm's per-channel scale, its shift as the bias): one
    /// pass over the output instead of three.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let conv = &self.conv;
        let (Some(bn), Some(padding)) = (&self.bn, symmetric_padding(&conv.padding)) else {
            let y = conv.forward(x);
            return match &self.bn {
                Some(bn) => bn.forward(y),
                None => y,
            };
        };
        let (scale, shift) = bn.scale_shift();
        let cout = scale.dims()[0];
        let weight = conv.weight.val() * scale.clone().reshape([cout, 1, 1, 1]);
        let bias = match &conv.bias {
            Some(bias) => bias.val() * scale + shift,
            None => shift,
        };
        let options = ConvOptions::new(conv.stride, padding, conv.dilation, conv.groups);
        let y = burn::tensor::module::conv2d(x, weight, Some(bias), options);
        match bn.act {
            Some(act) => act.forward(y),
            None => y,
        }
    }
}

/// `[rows, cols]` of a padding that is the same on both sides of each axis (`None` for `Same`
/// or an asymmetric one: those run unfused).
fn symmetric_padding(padding: &PaddingConfig2d) -> Option<[usize; 2]> {
    match *padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            Some([top, left])
        }
        _ => None,
    }
}

impl ConvStemConfig {
    /// Builds the stem's layers in order.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Vec<ConvNormAct<B>> {
        let last = self.channels.len().saturating_sub(1);
        let mut cin = self.in_chans;
        let mut layers = Vec::new();
        for (i, ((&cout, &s), &k)) in self
            .channels
            .iter()
            .zip(&self.stride)
            .zip(&self.kernel_size)
            .enumerate()
        {
            layers.push(ConvNormAct {
                conv: Conv2dConfig::new([cin, cout], [k, k])
                    .with_stride([s, s])
                    .with_padding(PaddingConfig2d::Valid)
                    .with_bias(i == last)
                    .init(device),
                bn: (i != last).then(|| {
                    BatchNormActConfig::new(cout)
                        .with_act(Some(Activation::Gelu))
                        .init(device)
                }),
            });
            cin = cout;
        }
        layers
    }
}

/// Parameters of the stem, as timm counts them (BatchNorm's running statistics are buffers).
pub fn param_count(in_chans: usize, channels: &[usize], kernel_size: &[usize]) -> u64 {
    let last = channels.len().saturating_sub(1);
    let mut cin = in_chans;
    let mut total = 0;
    for (i, (&cout, &k)) in channels.iter().zip(kernel_size).enumerate() {
        total += (cin * cout * k * k) as u64;
        total += if i == last { cout } else { 2 * cout } as u64;
        cin = cout;
    }
    total
}

/// Multiply-accumulates of the stem's convolutions on one image of `[h, w]`.
pub fn macs(
    in_chans: usize,
    channels: &[usize],
    stride: &[usize],
    kernel_size: &[usize],
    [h, w]: [usize; 2],
) -> u64 {
    let mut size = [h, w];
    let mut cin = in_chans;
    let mut total = 0;
    for ((&cout, &s), &k) in channels.iter().zip(stride).zip(kernel_size) {
        size = size.map(|x| if x < k { 0 } else { (x - k) / s + 1 });
        total += (size[0] * size[1] * cin * cout * k * k) as u64;
        cin = cout;
    }
    total
}
