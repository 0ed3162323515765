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

/// One node's part of every epoch in a multi-node run: the epoch's order is cut into global
/// batches of `nodes × batch` items and each node takes its slice of each, so that the nodes'
/// batches of one step together are the batch one node with `nodes × batch` would have had
/// (the last, partial global batch split evenly). Each epoch leaves out its last
/// `len % nodes` items (a different few every epoch), so every node runs the same number of
/// steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This node's rank.
    pub rank: usize,
    /// Nodes in the run.
    pub nodes: usize,
    /// Images per step on each node.
    pub batch: usize,
}

impl Shard {
    /// Items this node reads per epoch, of `total`.
    pub fn len(&self, total: usize) -> usize {
        total / self.nodes
    }

    /// The position in the epoch's order of this node's `index`-th item.
    pub fn position(&self, index: usize, total: usize) -> usize {
        let used = self.len(total) * self.nodes;
        let global = self.nodes * self.batch;
        let full = used / global;
        let last_share = (used % global) / self.nodes;
        if index < full * self.batch {
            (index / self.batch) * global + self.rank * self.batch + index % self.batch
        } else {
            full * global + self.rank * last_share + (index - full * self.batch)
        }
    }
}

/// The training split, reshuffled every epoch from `(seed, epoch)`.
pub struct EpochShuffled {
    items: Vec<ImageItem>,
    seed: u64,
    first_epoch: usize,
    shard: Option<Shard>,
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
            first_epoch,
            shard: None,
            served: AtomicUsize::new(served),
            order,
        }
    }

    /// Only this node's part of every epoch (the same order and augmentation seeds as one node
    /// reading all of it).
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self.served = AtomicUsize::new(self.first_epoch.saturating_sub(1) * self.len());
        self
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
        let len = self.len();
        if index >= len {
            return None;
        }
        let epoch = self.served.fetch_add(1, Ordering::SeqCst) / len;
        let mut order = self.order.lock().ok()?;
        if order.0 != epoch {
            *order = (epoch, self.permutation(epoch));
        }
        // Seeds follow the place in the whole epoch's order, so a node's item is augmented as
        // it would be in a one-node run.
        let index = match self.shard {
            Some(shard) => shard.position(index, self.items.len()),
            None => index,
        };
        let position = order.1[index];
        Some(Sample {
            image: self.items[position].clone(),
            seed: mix_seed(&[self.seed, epoch as u64, index as u64]),
        })
    }

    fn len(&self) -> usize {
        match self.shard {
            Some(shard) => shard.len(self.items.len()),
            None => self.items.len(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nodes_batches_of_a_step_are_one_big_batch_and_cover_the_epoch_once() {
        // 1500 items, 2 nodes × 64: 11 full global batches of 128, then 92 = 46 + 46.
        let total = 1500;
        let shards = [0, 1].map(|rank| Shard {
            rank,
            nodes: 2,
            batch: 64,
        });
        let positions: Vec<Vec<usize>> = shards
            .iter()
            .map(|s| (0..s.len(total)).map(|i| s.position(i, total)).collect())
            .collect();
        assert_eq!(positions[0].len(), 750);
        for step in 0..12 {
            let size = if step < 11 { 64 } else { 46 };
            let start = step * 64;
            let mut both: Vec<usize> = positions[0][start..start + size]
                .iter()
                .chain(&positions[1][start..start + size])
                .copied()
                .collect();
            both.sort();
            let first = step * 128;
            assert_eq!(
                both,
                (first..first + 2 * size).collect::<Vec<_>>(),
                "step {step}"
            );
        }
        let odd = Shard {
            rank: 2,
            nodes: 3,
            batch: 8,
        };
        // 100 items on 3 nodes: 33 each, the 100th left out.
        assert_eq!(odd.len(100), 33);
        assert!((0..33).all(|i| odd.position(i, 100) < 99));
    }
}
