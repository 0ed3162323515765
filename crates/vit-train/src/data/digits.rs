//! The embedded default data set: the UCI handwritten digits (1,797 greyscale 8×8 images in the
//! form scikit-learn ships, CC BY 4.0), compiled into the crate so training runs offline on a
//! fresh machine. A fixed split: 1,500 training images, 297 test images
//! (`scripts/make_digits.py`; `data/README.md`).

use burn::data::dataset::Dataset;

use crate::data::image_item::ImageItem;

const DIGITS: &[u8] = include_bytes!("../../data/digits.bin");
const HEADER: usize = 16;
const SIDE: usize = 8;
const RECORD: usize = 1 + SIDE * SIDE;
/// The largest pixel value in the source data.
const MAX_VALUE: f32 = 16.0;

/// Class names of the digits data set.
pub const DIGIT_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Which part of the fixed split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 1,500 training images.
    Train,
    /// The 297 test images.
    Test,
}

/// The embedded digits as a Burn [`Dataset`] of 1×8×8 images with values in [0, 1].
#[derive(Debug, Clone)]
pub struct DigitsDataset {
    items: Vec<ImageItem>,
}

impl DigitsDataset {
    /// One split of the embedded data.
    pub fn new(split: Split) -> Self {
        assert!(
            &DIGITS[..9] == b"DIGITS8x8",
            "embedded digits.bin has a bad header"
        );
        let train = u16::from_le_bytes([DIGITS[10], DIGITS[11]]) as usize;
        let test = u16::from_le_bytes([DIGITS[12], DIGITS[13]]) as usize;
        let range = match split {
            Split::Train => 0..train,
            Split::Test => train..train + test,
        };
        let items = range
            .map(|i| {
                let record = &DIGITS[HEADER + i * RECORD..HEADER + (i + 1) * RECORD];
                ImageItem {
                    pixels: record[1..]
                        .iter()
                        .map(|&v| (v as f32 * 255.0 / MAX_VALUE).round() as u8)
                        .collect(),
                    channels: 1,
                    height: SIDE,
                    width: SIDE,
                    label: record[0] as usize,
                }
            })
            .collect();
        Self { items }
    }

    /// The images of the split.
    pub fn into_items(self) -> Vec<ImageItem> {
        self.items
    }
}

impl Dataset<ImageItem> for DigitsDataset {
    fn get(&self, index: usize) -> Option<ImageItem> {
        self.items.get(index).cloned()
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}
