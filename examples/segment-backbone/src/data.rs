//! Generated segmentation data: noisy images with an axis-aligned square (class 1) and a disc
//! (class 2) at random places and sizes on background (class 0), and the per-pixel masks.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

/// Background, square, disc.
pub const CLASSES: usize = 3;

/// A small deterministic generator (xorshift), so every run draws the same images.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

/// `batch` images `[batch, 3, size, size]` and masks `[batch, size, size]`, drawn from `seed`.
pub fn batch<B: Backend>(
    batch: usize,
    seed: u64,
    size: usize,
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 3, Int>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let s = size as f32;
    let mut pixels = vec![0.0f32; batch * 3 * size * size];
    let mut labels = vec![0i64; batch * size * size];
    for b in 0..batch {
        let square = (
            rng.range(0.1, 0.6) * s,
            rng.range(0.1, 0.6) * s,
            rng.range(0.15, 0.35) * s,
        );
        let disc = (
            rng.range(0.25, 0.75) * s,
            rng.range(0.25, 0.75) * s,
            rng.range(0.1, 0.2) * s,
        );
        let colours = [[0.8, 0.3, 0.2], [0.2, 0.5, 0.9]];
        for y in 0..size {
            for x in 0..size {
                let (fy, fx) = (y as f32, x as f32);
                let in_square = fy >= square.0
                    && fy < square.0 + square.2
                    && fx >= square.1
                    && fx < square.1 + square.2;
                let in_disc = (fy - disc.0).powi(2) + (fx - disc.1).powi(2) < disc.2 * disc.2;
                let class = if in_disc {
                    2
                } else if in_square {
                    1
                } else {
                    0
                };
                labels[(b * size + y) * size + x] = class as i64;
                for c in 0..3 {
                    let base = if class == 0 {
                        0.5
                    } else {
                        colours[class - 1][c]
                    };
                    pixels[((b * 3 + c) * size + y) * size + x] = base + rng.range(-0.25, 0.25);
                }
            }
        }
    }
    (
        Tensor::from_data(TensorData::new(pixels, [batch, 3, size, size]), device),
        Tensor::from_data(TensorData::new(labels, [batch, size, size]), device),
    )
}

/// Pixel accuracy and mean intersection-over-union over `classes` of `predicted` vs `truth`.
pub fn scores<B: Backend>(
    predicted: Tensor<B, 3, Int>,
    truth: Tensor<B, 3, Int>,
    classes: usize,
) -> (f32, f32) {
    let p: Vec<i64> = predicted
        .into_data()
        .convert::<i64>()
        .into_vec()
        .expect("ints");
    let t: Vec<i64> = truth.into_data().convert::<i64>().into_vec().expect("ints");
    let correct = p.iter().zip(&t).filter(|(a, b)| a == b).count();
    let iou: f32 = (0..classes as i64)
        .map(|c| {
            let inter = p
                .iter()
                .zip(&t)
                .filter(|&(&a, &b)| a == c && b == c)
                .count();
            let union = p
                .iter()
                .zip(&t)
                .filter(|&(&a, &b)| a == c || b == c)
                .count();
            if union == 0 {
                1.0
            } else {
                inter as f32 / union as f32
            }
        })
        .sum::<f32>()
        / classes as f32;
    (correct as f32 / t.len() as f32, iou)
}
