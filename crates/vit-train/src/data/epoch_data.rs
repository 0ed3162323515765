//! Shuffling and augmentation randomness that depend only on (seed, epoch, position), so a
//! resumed run sees exactly the batches an uninterrupted one would have seen, and several
//! loader threads cannot change the result.
//!
//! burn's data loader draws each epoch's permutation from one RNG that lives only in memory;
//! after a resume it would replay epoch 1's order. [`EpochShuffled`] works out the epoch from
//! how many items it has handed out (every epoch reads each item exactly once) and gives each
//! item its own augmentation seed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataset::Dataset;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::data::image_item::ImageItem;

/// An image with the seed of its augmentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The image.
    pub image: ImageItem,
    /// Seed of everything random done to this image in this epoch.
    pub seed: u64,
}

/// Mixes numbers into one well-spread seed (SplitMix64 finaliser).
pub fn mix_seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15, |acc, &p| {
        let mut z = acc ^ p.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// The training split, reshuffled every epoch from `(seed, epoch)`.
pub struct EpochShuffled {
    items: Vec<ImageItem>,
    seed: u64,
    served: AtomicUsize,
    order: Mutex<(usize, Vec<usize>)>,
}

impl EpochShuffled {
    /// The data set as of the start of epoch `first_epoch` (1-based; > 1 when resuming).
    pub fn new(items: Vec<ImageItem>, seed: u64, first_epoch: usize) -> Self {
        let served = first_epoch.saturating_sub(1) * items.len();
        let order = Mutex::new((usize::MAX, Vec::new()));
        Self {
            items,
            seed,
            served: AtomicUsize::new(served),
            order,
        }
    }

    /// The order of epoch `epoch` (0-based).
    pub fn permutation(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(mix_seed(&[
            self.seed,
            epoch as u64,
        ])));
        order
    }
}

impl Dataset<Sample> for EpochShuffled {
    fn get(&self, index: usize) -> Option<Sample> {
        let len = self.items.len();
        if index >= len {
            return None;
        }
        let epoch = self.served.fetch_add(1, Ordering::SeqCst) / len;
        let mut order = self.order.lock().ok()?;
        if order.0 != epoch {
            *order = (epoch, self.permutation(epoch));
        }
        let position = order.1[index];
        Some(Sample {
            image: self.items[position].clone(),
            seed: mix_seed(&[self.seed, epoch as u64, index as u64]),
        })
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A fixed data set (validation, test): no shuffling, no augmentation seed.
pub struct InOrder(pub Vec<ImageItem>);

impl Dataset<Sample> for InOrder {
    fn get(&self, index: usize) -> Option<Sample> {
        self.0.get(index).map(|image| Sample {
            image: image.clone(),
            seed: 0,
        })
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}
