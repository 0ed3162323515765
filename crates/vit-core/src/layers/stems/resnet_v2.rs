//! The ResNetV2 of timm's ViT hybrids (`preact=False`, "SAME" stem): weight-standardised
//! convolutions, GroupNorm(32) with ReLU, bottleneck blocks (Kolesnikov et al., BiT; the R50 of
//! the ViT paper's R50+ViT-B/16).

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use vit_ops::VitBackend;

use crate::layers::group_norm::{GroupNormAct, GroupNormActConfig};
use crate::layers::same_pad::pad_same;
use crate::layers::std_conv::{StdConv2d, StdConv2dConfig};

/// Channels of the stem's convolution (timm's default).
pub const STEM_CHANNELS: usize = 64;

/// timm's default stage widths.
pub fn default_channels() -> Vec<usize> {
    vec![256, 512, 1024, 2048]
}

/// timm's default stem width.
pub fn default_stem_chs() -> usize {
    STEM_CHANNELS
}

/// The convolutions' standardisation epsilon in timm's hybrids.
const STD_CONV_EPS: f64 = 1e-8;

fn conv<B: VitBackend>(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    device: &B::Device,
) -> StdConv2d<B> {
    StdConv2dConfig::new(cin, cout, k)
        .with_stride(stride)
        .with_eps(STD_CONV_EPS)
        .init(device)
}

fn norm<B: VitBackend>(channels: usize, act: bool, device: &B::Device) -> GroupNormAct<B> {
    GroupNormActConfig::new(channels)
        .with_apply_act(act)
        .init(device)
}

/// The stem: 7×7/2 standardised conv, GroupNorm + ReLU, 3×3/2 max pool with "SAME" padding
/// (padded with −∞, timm's `MaxPool2dSame`); timm keys `conv`, `norm`.
#[derive(Module, Debug)]
pub struct ResNetStem<B: VitBackend> {
    /// The 7×7/2 convolution.
    pub conv: StdConv2d<B>,
    /// GroupNorm + ReLU.
    pub norm: GroupNormAct<B>,
}

impl<B: VitBackend> ResNetStem<B> {
    /// A stem of `channels` for `in_chans`-channel images.
    pub fn new(in_chans: usize, channels: usize, device: &B::Device) -> Self {
        Self {
            conv: conv(in_chans, channels, 7, 2, device),
            norm: norm(channels, true, device),
        }
    }

    /// `[batch, in, h, w]` → `[batch, channels, ⌈h/4⌉, ⌈w/4⌉]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = self.norm.forward(self.conv.forward(x));
        let x = pad_same(x, 3, 2, f32::NEG_INFINITY);
        max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false)
    }
}

/// The projection shortcut of a stage's first block: 1×1 standardised conv at the block's
/// stride, GroupNorm without activation; timm keys `conv`, `norm`.
#[derive(Module, Debug)]
pub struct Downsample<B: VitBackend> {
    /// The 1×1 convolution.
    pub conv: StdConv2d<B>,
    /// GroupNorm.
    pub norm: GroupNormAct<B>,
}

/// A bottleneck (non-pre-activation): 1×1 → 3×3 (strided) → 1×1 convolutions, each normed,
/// added to the (projected) input, then ReLU.
#[derive(Module, Debug)]
pub struct Bottleneck<B: VitBackend> {
    /// Shortcut projection (the first block of a stage).
    pub downsample: Option<Downsample<B>>,
    /// 1×1 reduction.
    pub conv1: StdConv2d<B>,
    /// GroupNorm + ReLU.
    pub norm1: GroupNormAct<B>,
    /// 3×3, strided.
    pub conv2: StdConv2d<B>,
    /// GroupNorm + ReLU.
    pub norm2: GroupNormAct<B>,
    /// 1×1 expansion.
    pub conv3: StdConv2d<B>,
    /// GroupNorm, no activation (ReLU comes after the residual sum).
    pub norm3: GroupNormAct<B>,
}

impl<B: VitBackend> Bottleneck<B> {
    fn new(cin: usize, cout: usize, stride: usize, project: bool, device: &B::Device) -> Self {
        let mid = cout / 4;
        Self {
            downsample: project.then(|| Downsample {
                conv: conv(cin, cout, 1, stride, device),
                norm: norm(cout, false, device),
            }),
            conv1: conv(cin, mid, 1, 1, device),
            norm1: norm(mid, true, device),
            conv2: conv(mid, mid, 3, stride, device),
            norm2: norm(mid, true, device),
            conv3: conv(mid, cout, 1, 1, device),
            norm3: norm(cout, false, device),
        }
    }

    /// Runs the block on `[batch, in, h, w]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let shortcut = match &self.downsample {
            Some(d) => d.norm.forward(d.conv.forward(x.clone())),
            None => x.clone(),
        };
        let y = self.norm1.forward(self.conv1.forward(x));
        let y = self.norm2.forward(self.conv2.forward(y));
        let y = self.norm3.forward(self.conv3.forward(y));
        relu(y + shortcut)
    }
}

/// One stage of bottlenecks; timm key `blocks`.
#[derive(Module, Debug)]
pub struct ResNetStage<B: VitBackend> {
    /// The blocks; the first projects the shortcut and carries the stride.
    pub blocks: Vec<Bottleneck<B>>,
}

/// Configuration of a [`ResNetV2`].
#[derive(Config, Debug)]
pub struct ResNetV2Config {
    /// Image channels.
    pub in_chans: usize,
    /// Bottlenecks per stage (R50's hybrid: `[3, 4, 9]`; R26: `[2, 2, 2, 2]`).
    pub layers: Vec<usize>,
    /// Output channels per stage.
    #[config(default = "vec![256, 512, 1024, 2048]")]
    pub channels: Vec<usize>,
    /// Channels of the stem.
    #[config(default = 64)]
    pub stem_chs: usize,
}

/// The ResNetV2 trunk of a hybrid: stem, then stages (timm's widths 256, 512, 1024, 2048; the
/// first at stride 1, the others 2); timm keys `stem`, `stages`.
#[derive(Module, Debug)]
pub struct ResNetV2<B: VitBackend> {
    /// The stem.
    pub stem: ResNetStem<B>,
    /// The stages.
    pub stages: Vec<ResNetStage<B>>,
}

impl ResNetV2Config {
    /// Builds the network.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> ResNetV2<B> {
        let mut cin = self.stem_chs;
        let stages = self
            .layers
            .iter()
            .zip(&self.channels)
            .enumerate()
            .map(|(i, (&depth, &cout))| {
                let stride = if i == 0 { 1 } else { 2 };
                let blocks = (0..depth)
                    .map(|j| {
                        let block = if j == 0 {
                            Bottleneck::new(cin, cout, stride, true, device)
                        } else {
                            Bottleneck::new(cout, cout, 1, false, device)
                        };
                        cin = cout;
                        block
                    })
                    .collect();
                ResNetStage { blocks }
            })
            .collect();
        ResNetV2 {
            stem: ResNetStem::new(self.in_chans, self.stem_chs, device),
            stages,
        }
    }
}

impl<B: VitBackend> ResNetV2<B> {
    /// The last stage's map `[batch, 256·2^(stages−1), ⌈h/s⌉, ⌈w/s⌉]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = self.stem.forward(x);
        self.stages
            .iter()
            .flat_map(|stage| &stage.blocks)
            .fold(x, |x, block| block.forward(x))
    }
}

/// Parameters of the trunk (no `layers`: the stem alone), as timm counts them.
pub fn param_count(in_chans: usize, stem_chs: usize, layers: &[usize], channels: &[usize]) -> u64 {
    let conv = |cin: usize, cout: usize, k: usize| (cin * cout * k * k) as u64;
    let gn = |c: usize| 2 * c as u64;
    let mut total = conv(in_chans, stem_chs, 7) + gn(stem_chs);
    let mut cin = stem_chs;
    for (&depth, &cout) in layers.iter().zip(channels) {
        let mid = cout / 4;
        for j in 0..depth {
            if j == 0 {
                total += conv(cin, cout, 1) + gn(cout);
            }
            total += conv(cin, mid, 1) + gn(mid) + conv(mid, mid, 3) + gn(mid);
            total += conv(mid, cout, 1) + gn(cout);
            cin = cout;
        }
    }
    total
}

/// Multiply-accumulates of the trunk's convolutions on one image of `[h, w]`.
pub fn macs(
    in_chans: usize,
    stem_chs: usize,
    layers: &[usize],
    channels: &[usize],
    [h, w]: [usize; 2],
) -> u64 {
    let cells = |stride: usize| (h.div_ceil(stride) * w.div_ceil(stride)) as u64;
    let conv = |cin: usize, cout: usize, k: usize, stride: usize| {
        cells(stride) * (cin * cout * k * k) as u64
    };
    let mut total = conv(in_chans, stem_chs, 7, 2);
    let mut cin = stem_chs;
    let mut stride = 4;
    for (i, (&depth, &cout)) in layers.iter().zip(channels).enumerate() {
        let mid = cout / 4;
        let input_stride = stride;
        if i > 0 {
            stride *= 2;
        }
        for j in 0..depth {
            if j == 0 {
                total += conv(cin, cout, 1, stride);
            }
            total += conv(cin, mid, 1, if j == 0 { input_stride } else { stride });
            total += conv(mid, mid, 3, stride) + conv(mid, cout, 1, stride);
            cin = cout;
        }
    }
    total
}
