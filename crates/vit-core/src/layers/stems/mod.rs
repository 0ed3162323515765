//! CNN stems that turn an image into a feature map before a transformer (timm's hybrid
//! backbones): the BiT-style ResNetV2 of the ViT paper's R50+ViT ([`resnet_v2`]) or its stem
//! alone, and the BatchNorm convolution stack of timm's `ConvStem` ([`conv_stem`]). Any family
//! can put one in front of its patch embedding (`patch_embed.backbone` in timm's keys).

pub mod conv_stem;
pub mod resnet_v2;

use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
pub use conv_stem::{ConvNormAct, ConvStemConfig};
pub use resnet_v2::{Bottleneck, ResNetStage, ResNetStem, ResNetV2, ResNetV2Config};

/// Which stem, with the numbers that shape it — as the catalogue records timm's hybrid
/// backbones (`{"name": "resnetv2", "layers": [3, 4, 9]}`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum HybridBackboneConfig {
    /// timm's `ResNetV2(preact=False, stem_type='same')` with weight-standardised convolutions
    /// (eps 1e-8), GroupNorm(32) and bottlenecks: `layers` blocks per stage, stage widths
    /// 256·2ⁱ, output stride 4·2^(stages−1).
    Resnetv2 {
        /// Bottleneck blocks per stage.
        layers: Vec<usize>,
        /// Output channels per stage (timm's default 256, 512, 1024, 2048; multiples of 128,
        /// for GroupNorm(32) on the bottleneck's quarter width).
        #[serde(default = "resnet_v2::default_channels")]
        channels: Vec<usize>,
        /// Channels of the stem (timm's default 64).
        #[serde(default = "resnet_v2::default_stem_chs")]
        stem_chs: usize,
    },
    /// The ResNetV2 stem alone (7×7/2 conv, GroupNorm + ReLU, 3×3/2 max pool): 64 channels at
    /// stride 4.
    Resnetv2Stem,
    /// timm's `ConvStem`: convolutions (no padding) with BatchNorm + GELU between them, the last
    /// with a bias and nothing after it.
    ConvStem {
        /// Output channels of each convolution.
        channels: Vec<usize>,
        /// Stride of each convolution.
        stride: Vec<usize>,
        /// Kernel side of each convolution.
        kernel_size: Vec<usize>,
    },
}

impl HybridBackboneConfig {
    /// Checks the numbers, naming what is wrong (as `backbone.<field>`).
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, reason: String| VitError::InvalidConfig {
            field: format!("backbone.{field}"),
            reason,
        };
        match self {
            Self::Resnetv2 {
                layers,
                channels,
                stem_chs,
            } => {
                if layers.is_empty() || layers.len() > channels.len() || layers.contains(&0) {
                    return Err(invalid(
                        "layers",
                        format!(
                            "1 to {} stages of at least one block each, got {layers:?}",
                            channels.len()
                        ),
                    ));
                }
                if channels.iter().any(|c| *c == 0 || !c.is_multiple_of(128)) {
                    return Err(invalid(
                        "channels",
                        format!("multiples of 128 (GroupNorm(32) on a quarter), got {channels:?}"),
                    ));
                }
                if *stem_chs == 0 || !stem_chs.is_multiple_of(32) {
                    return Err(invalid(
                        "stem_chs",
                        format!("a multiple of 32 (GroupNorm(32)), got {stem_chs}"),
                    ));
                }
            }
            Self::Resnetv2Stem => {}
            Self::ConvStem {
                channels,
                stride,
                kernel_size,
            } => {
                if channels.is_empty()
                    || channels.len() != stride.len()
                    || channels.len() != kernel_size.len()
                {
                    return Err(invalid(
                        "channels",
                        "channels, stride and kernel_size need one entry per convolution".into(),
                    ));
                }
                if channels.contains(&0) || stride.contains(&0) || kernel_size.contains(&0) {
                    return Err(invalid("channels", "every entry must be at least 1".into()));
                }
            }
        }
        Ok(())
    }

    /// Channels of the feature map the stem hands on.
    pub fn out_channels(&self) -> usize {
        match self {
            Self::Resnetv2 {
                layers, channels, ..
            } => channels[layers.len() - 1],
            Self::Resnetv2Stem => resnet_v2::STEM_CHANNELS,
            Self::ConvStem { channels, .. } => *channels.last().unwrap_or(&0),
        }
    }

    /// Pixels per feature-map cell.
    pub fn stride(&self) -> usize {
        match self {
            Self::Resnetv2 { layers, .. } => 4 << (layers.len() - 1),
            Self::Resnetv2Stem => 4,
            Self::ConvStem { stride, .. } => stride.iter().product(),
        }
    }

    /// The feature map's `[height, width]` for an image of `[height, width]`: "SAME" padding
    /// rounds up (ResNetV2), unpadded convolutions round down (ConvStem).
    pub fn feature_size(&self, [h, w]: [usize; 2]) -> [usize; 2] {
        match self {
            Self::Resnetv2 { .. } | Self::Resnetv2Stem => {
                let s = self.stride();
                [h.div_ceil(s), w.div_ceil(s)]
            }
            Self::ConvStem {
                stride,
                kernel_size,
                ..
            } => {
                let mut size = [h, w];
                for (&k, &s) in kernel_size.iter().zip(stride) {
                    size = size.map(|x| if x < k { 0 } else { (x - k) / s + 1 });
                }
                size
            }
        }
    }

    /// Parameters, as timm counts them (running statistics are buffers, not parameters).
    pub fn param_count(&self, in_chans: usize) -> u64 {
        match self {
            Self::Resnetv2 {
                layers,
                channels,
                stem_chs,
            } => resnet_v2::param_count(in_chans, *stem_chs, layers, channels),
            Self::Resnetv2Stem => {
                resnet_v2::param_count(in_chans, resnet_v2::STEM_CHANNELS, &[], &[])
            }
            Self::ConvStem {
                channels,
                kernel_size,
                ..
            } => conv_stem::param_count(in_chans, channels, kernel_size),
        }
    }

    /// Multiply-accumulates of the stem on one image of `[height, width]`.
    pub fn macs(&self, in_chans: usize, img: [usize; 2]) -> u64 {
        match self {
            Self::Resnetv2 {
                layers,
                channels,
                stem_chs,
            } => resnet_v2::macs(in_chans, *stem_chs, layers, channels, img),
            Self::Resnetv2Stem => {
                resnet_v2::macs(in_chans, resnet_v2::STEM_CHANNELS, &[], &[], img)
            }
            Self::ConvStem {
                channels,
                stride,
                kernel_size,
            } => conv_stem::macs(in_chans, channels, stride, kernel_size, img),
        }
    }

    /// Builds the stem for `in_chans`-channel images.
    pub fn init<B: VitBackend>(&self, in_chans: usize, device: &B::Device) -> HybridBackbone<B> {
        match self {
            Self::Resnetv2 {
                layers,
                channels,
                stem_chs,
            } => HybridBackbone::ResNetV2(
                ResNetV2Config::new(in_chans, layers.clone())
                    .with_channels(channels.clone())
                    .with_stem_chs(*stem_chs)
                    .init(device),
            ),
            Self::Resnetv2Stem => HybridBackbone::ResNetStem(ResNetStem::new(
                in_chans,
                resnet_v2::STEM_CHANNELS,
                device,
            )),
            Self::ConvStem {
                channels,
                stride,
                kernel_size,
            } => HybridBackbone::ConvStem(
                ConvStemConfig::new(
                    in_chans,
                    channels.clone(),
                    stride.clone(),
                    kernel_size.clone(),
                )
                .init(device),
            ),
        }
    }
}

/// A built stem; timm's keys under `patch_embed.backbone` (the variant adds no key).
#[derive(Module, Debug)]
pub enum HybridBackbone<B: VitBackend> {
    /// The full ResNetV2 (`stem.*`, `stages.*`).
    ResNetV2(ResNetV2<B>),
    /// The ResNetV2 stem alone (`conv`, `norm`).
    ResNetStem(ResNetStem<B>),
    /// timm's `ConvStem` (`0.conv`, `0.bn`, …).
    ConvStem(Vec<ConvNormAct<B>>),
}

impl<B: VitBackend> HybridBackbone<B> {
    /// The feature map `[batch, channels, h', w']` of images `[batch, in_chans, height, width]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Self::ResNetV2(net) => net.forward(x),
            Self::ResNetStem(stem) => stem.forward(x),
            Self::ConvStem(layers) => layers.iter().fold(x, |x, layer| layer.forward(x)),
        }
    }
}
