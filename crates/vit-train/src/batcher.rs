//! Turning [`ImageItem`]s into normalised training batches at the model's input size, with the
//! per-image augmentations (random crop with padding, horizontal flip).

use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::image_item::ImageItem;
use crate::resize::resize_bilinear;

/// A batch: images `[batch, channels, height, width]` (normalised) and class indices.
#[derive(Debug, Clone)]
pub struct ImageBatch<B: Backend> {
    /// Normalised images.
    pub images: Tensor<B, 4>,
    /// Class indices `[batch]`.
    pub labels: Tensor<B, 1, Int>,
}

/// Per-image augmentation of the training split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageAugment {
    /// Pad by this many pixels (zeros) and crop back at a random offset; 0 = off.
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2 (off for digits).
    pub hflip: bool,
}

/// Resizes, augments (when set) and normalises images into an [`ImageBatch`].
#[derive(Clone)]
pub struct ImageBatcher {
    /// Output `[height, width]`.
    pub img_size: [usize; 2],
    /// Per-channel mean subtracted (values in [0, 1]).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by.
    pub std: Vec<f32>,
    /// Augmentation, `None` for evaluation.
    pub augment: Option<ImageAugment>,
    rng: Arc<Mutex<StdRng>>,
}

impl ImageBatcher {
    /// A batcher; `seed` makes the augmentation reproducible.
    pub fn new(
        img_size: [usize; 2],
        mean: Vec<f32>,
        std: Vec<f32>,
        augment: Option<ImageAugment>,
        seed: u64,
    ) -> Self {
        Self {
            img_size,
            mean,
            std,
            augment,
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        }
    }

    /// One image resized to the output size, augmented and normalised, channel-major.
    pub fn prepare(&self, item: &ImageItem) -> Vec<f32> {
        let [h, w] = self.img_size;
        let c = item.channels;
        let mut pixels = resize_bilinear(&item.pixels, c, [item.height, item.width], [h, w]);
        if let Some(augment) = &self.augment {
            let mut rng = self.rng.lock().expect("augmentation RNG");
            if augment.crop_padding > 0 {
                let p = augment.crop_padding as i64;
                let (dy, dx) = (rng.random_range(-p..=p), rng.random_range(-p..=p));
                pixels = shift(&pixels, c, [h, w], [dy, dx]);
            }
            if augment.hflip && rng.random_bool(0.5) {
                for row in pixels.chunks_mut(w) {
                    row.reverse();
                }
            }
        }
        for (ch, plane) in pixels.chunks_mut(h * w).enumerate() {
            let (m, s) = (
                self.mean[ch % self.mean.len()],
                self.std[ch % self.std.len()],
            );
            plane.iter_mut().for_each(|v| *v = (*v - m) / s);
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

impl<B: Backend> Batcher<B, ImageItem, ImageBatch<B>> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &B::Device) -> ImageBatch<B> {
        let [h, w] = self.img_size;
        let c = items.first().map_or(1, |i| i.channels);
        let labels: Vec<i64> = items.iter().map(|i| i.label as i64).collect();
        let pixels: Vec<f32> = items.iter().flat_map(|i| self.prepare(i)).collect();
        ImageBatch {
            images: Tensor::from_data(TensorData::new(pixels, [items.len(), c, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}
