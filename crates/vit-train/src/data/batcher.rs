//! Turning samples into normalised batches at the model's input size, with the training
//! augmentations in timm's order: resize → random resized crop or padded random crop → flip →
//! RandAugment → normalise → random erasing, then Mixup/CutMix over the batch.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vit_core::VitBackend;

use crate::augment::mixup::mix_batch;
use crate::augment::{rand_augment, random_erasing, random_resized_crop};
use crate::config::AugmentConfig;
use crate::data::epoch_data::{Sample, mix_seed};
use crate::data::image_item::ImageItem;
use vit_core::preprocess::{Filter, resize_planes_u8};

/// A batch: images `[batch, channels, height, width]` (normalised) and class indices.
#[derive(Debug, Clone)]
pub struct ImageBatch<B: VitBackend> {
    /// Normalised images.
    pub images: Tensor<B, 4>,
    /// Class indices `[batch]`.
    pub labels: Tensor<B, 1, Int>,
    /// Soft targets `[batch, classes]` when Mixup/CutMix mixed the batch.
    pub targets: Option<Tensor<B, 2>>,
    /// Seed for the model's own randomness (dropout, stochastic depth) on this batch.
    pub seed: u64,
}

/// The training-time part of an [`ImageBatcher`].
#[derive(Debug, Clone)]
struct Training {
    augment: AugmentConfig,
    num_classes: usize,
    label_smoothing: f32,
}

/// Resizes, augments (training) and normalises samples into an [`ImageBatch`].
#[derive(Debug, Clone)]
pub struct ImageBatcher {
    /// Output `[height, width]`.
    pub img_size: [usize; 2],
    /// Per-channel mean subtracted (values in [0, 1]).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by.
    pub std: Vec<f32>,
    training: Option<Training>,
}

impl ImageBatcher {
    /// An evaluation batcher: resize and normalise only.
    pub fn new(img_size: [usize; 2], mean: Vec<f32>, std: Vec<f32>) -> Self {
        Self {
            img_size,
            mean,
            std,
            training: None,
        }
    }

    /// A training batcher: `augment` on every image; Mixup/CutMix targets over `num_classes`
    /// with `label_smoothing` folded in (as timm's `mixup_target`).
    pub fn with_augment(
        mut self,
        augment: AugmentConfig,
        num_classes: usize,
        label_smoothing: f32,
    ) -> Self {
        self.training = Some(Training {
            augment,
            num_classes,
            label_smoothing,
        });
        self
    }

    /// One image resized to the output size, augmented (when training, from `seed`) and
    /// normalised, channel-major.
    pub fn prepare(&self, item: &ImageItem, seed: u64) -> Vec<f32> {
        let [h, w] = self.img_size;
        let c = item.channels;
        // Pillow's bilinear resize on the bytes, as `vit predict` applies to a saved model's
        // input (squash, bilinear): training and prediction see the same pixels.
        let mut pixels = if [item.height, item.width] == [h, w] {
            item.to_unit_f32()
        } else {
            resize_planes_u8(
                &item.pixels,
                c,
                [item.height, item.width],
                [h, w],
                Filter::Bilinear,
            )
            .expect("the data readers give 1- or 3-channel images of their stated size")
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect()
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let augment = self.training.as_ref().map(|t| &t.augment);
        if let Some(augment) = augment {
            if let Some(crop) = &augment.random_resized_crop {
                pixels = random_resized_crop(&pixels, c, [h, w], crop, &mut rng);
            } else if augment.crop_padding > 0 {
                let p = augment.crop_padding as i64;
                let (dy, dx) = (rng.random_range(-p..=p), rng.random_range(-p..=p));
                pixels = shift(&pixels, c, [h, w], [dy, dx]);
            }
            if augment.hflip && rng.random_bool(0.5) {
                for row in pixels.chunks_mut(w) {
                    row.reverse();
                }
            }
            if let Some(ra) = &augment.rand_augment {
                pixels = rand_augment(&pixels, c, [h, w], ra, &mut rng);
            }
        }
        for (ch, plane) in pixels.chunks_mut(h * w).enumerate() {
            let (m, s) = (
                self.mean[ch % self.mean.len()],
                self.std[ch % self.std.len()],
            );
            plane.iter_mut().for_each(|v| *v = (*v - m) / s);
        }
        if let Some(erasing) = augment.and_then(|a| a.random_erasing.as_ref()) {
            random_erasing(&mut pixels, c, [h, w], erasing, &mut rng);
        }
        pixels
    }
}

/// Moves the image content by `[dy, dx]` pixels, filling with zeros (= pad + crop).
fn shift(pixels: &[f32], c: usize, [h, w]: [usize; 2], [dy, dx]: [i64; 2]) -> Vec<f32> {
    let mut out = vec![0.0; pixels.len()];
    for ch in 0..c {
        for y in 0..h as i64 {
            let sy = y - dy;
            if sy < 0 || sy >= h as i64 {
                continue;
            }
            for x in 0..w as i64 {
                let sx = x - dx;
                if sx >= 0 && sx < w as i64 {
                    out[ch * h * w + (y as usize) * w + x as usize] =
                        pixels[ch * h * w + (sy as usize) * w + sx as usize];
                }
            }
        }
    }
    out
}

impl<B: VitBackend> Batcher<B, Sample, ImageBatch<B>> for ImageBatcher {
    fn batch(&self, samples: Vec<Sample>, device: &B::Device) -> ImageBatch<B> {
        let [h, w] = self.img_size;
        let n = samples.len();
        let c = samples.first().map_or(1, |s| s.image.channels);
        let labels: Vec<usize> = samples.iter().map(|s| s.image.label).collect();
        let mut pixels: Vec<f32> = samples
            .iter()
            .flat_map(|s| self.prepare(&s.image, s.seed))
            .collect();
        let batch_seed = mix_seed(&samples.iter().map(|s| s.seed).collect::<Vec<_>>());
        let targets = self.training.as_ref().and_then(|t| {
            let mixup = t.augment.mixup.as_ref()?;
            let mut rng = StdRng::seed_from_u64(batch_seed);
            let targets = mix_batch(
                &mut pixels,
                &labels,
                t.num_classes,
                [c, h, w],
                t.label_smoothing,
                mixup,
                &mut rng,
            );
            Some(Tensor::from_data(
                TensorData::new(targets, [n, t.num_classes]),
                device,
            ))
        });
        let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        ImageBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            targets,
            seed: mix_seed(&[batch_seed, 1]),
        }
    }
}
