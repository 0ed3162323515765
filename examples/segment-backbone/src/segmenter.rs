//! The downstream model: the backbone's pyramid, each level projected to one width (1×1
//! convolutions), upsampled to the finest level and summed (a minimal FPN), then a per-pixel
//! classifier, upsampled to the image.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Int, Tensor};
use vit_core::features::FeatureExtractor;
use vit_core::prelude::*;
use vit_variants::zoo::ZooModel;

/// Configuration of a [`Segmenter`].
#[derive(Config, Debug)]
pub struct SegmenterConfig {
    /// Classes per pixel.
    pub classes: usize,
    /// Width of the merged pyramid.
    #[config(default = 64)]
    pub width: usize,
}

/// Backbone + FPN-style neck + per-pixel classifier.
#[derive(Module, Debug)]
pub struct Segmenter<B: VitBackend> {
    /// The zoo model, pruned to its pyramid.
    pub backbone: FeatureExtractor<B, ZooModel<B>>,
    /// One 1×1 projection per pyramid level.
    pub lateral: Vec<Conv2d<B>>,
    /// 3×3 smoothing of the merged map.
    pub smooth: Conv2d<B>,
    /// Per-pixel classifier.
    pub classifier: Conv2d<B>,
}

impl SegmenterConfig {
    /// Builds the neck and head for `backbone`'s maps.
    pub fn init<B: VitBackend>(
        &self,
        backbone: FeatureExtractor<B, ZooModel<B>>,
        device: &B::Device,
    ) -> Segmenter<B> {
        let lateral = backbone
            .feature_info()
            .iter()
            .map(|info| Conv2dConfig::new([info.num_chs, self.width], [1, 1]).init(device))
            .collect();
        Segmenter {
            backbone,
            lateral,
            smooth: Conv2dConfig::new([self.width, self.width], [3, 3])
                .with_padding(burn::nn::PaddingConfig2d::Same)
                .init(device),
            classifier: Conv2dConfig::new([self.width, self.classes], [1, 1]).init(device),
        }
    }
}

/// Nearest-neighbour upsampling by an integer `factor` (pyramid strides are powers of two).
fn upsample<B: VitBackend>(x: Tensor<B, 4>, factor: usize) -> Tensor<B, 4> {
    if factor == 1 {
        return x;
    }
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .expand([b, c, h, factor, w, factor])
        .reshape([b, c, h * factor, w * factor])
}

impl<B: VitBackend> Segmenter<B> {
    /// Class scores `[batch, classes, H, W]` for images `[batch, 3, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 4>> {
        let [_, _, h, _] = images.dims();
        let maps = self.backbone.forward(images)?;
        let finest = self
            .backbone
            .feature_info()
            .iter()
            .map(|i| i.reduction)
            .min()
            .unwrap_or(1);
        let mut merged: Option<Tensor<B, 4>> = None;
        for ((map, lateral), info) in maps
            .into_iter()
            .zip(&self.lateral)
            .zip(self.backbone.feature_info())
        {
            let map = map.spatial().expect("NCHW maps");
            let level = upsample(lateral.forward(map), info.reduction / finest);
            merged = Some(match merged {
                Some(m) => m + level,
                None => level,
            });
        }
        let merged = relu(self.smooth.forward(merged.expect("at least one map")));
        let scores = self.classifier.forward(merged);
        let [_, _, sh, _] = scores.dims();
        Ok(upsample(scores, h / sh))
    }

    /// Mean per-pixel cross-entropy against `masks [batch, H, W]`.
    pub fn loss(&self, images: Tensor<B, 4>, masks: Tensor<B, 3, Int>) -> Result<Tensor<B, 1>> {
        let scores = self.forward(images)?;
        let [b, c, h, w] = scores.dims();
        let flat = scores.permute([0, 2, 3, 1]).reshape([b * h * w, c]);
        let loss = CrossEntropyLossConfig::new().init(&flat.device());
        Ok(loss.forward(flat, masks.reshape([b * h * w])))
    }
}
