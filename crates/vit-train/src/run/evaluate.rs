//! The final evaluation: top-1 accuracy on the test split, overall and per class.

use burn::data::dataloader::batcher::Batcher;
use vit_core::VitBackend;
use vit_core::model::VisionModel;
use vit_core::precision::{Precision, autocast};
use vit_variants::zoo::ZooModel;

use crate::data::batcher::{ImageBatch, ImageBatcher};
use crate::data::epoch_data::Sample;
use crate::data::image_item::ImageItem;
use crate::error::{Result, TrainError};

/// Test accuracy of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassAccuracy {
    /// Class name.
    pub name: String,
    /// Top-1 accuracy in [0, 1].
    pub accuracy: f64,
    /// Test images of the class.
    pub images: usize,
}

/// Top-1 accuracy over `items` and per class, the model run under `precision`'s autocast.
pub fn evaluate<B: VitBackend>(
    precision: Precision,
    model: &ZooModel<B>,
    items: &[ImageItem],
    class_names: &[String],
    batcher: &ImageBatcher,
    device: &B::Device,
) -> Result<(f64, Vec<ClassAccuracy>)> {
    let _autocast = autocast(precision);
    let mut correct = vec![0usize; class_names.len()];
    let mut total = vec![0usize; class_names.len()];
    for chunk in items.chunks(128) {
        let samples = chunk
            .iter()
            .map(|image| Sample {
                image: image.clone(),
                seed: 0,
            })
            .collect();
        let batch: ImageBatch<B> = batcher.batch(samples, device);
        let predicted = model.forward(batch.images).argmax(1).into_data();
        let predicted: Vec<i64> = predicted
            .convert::<i64>()
            .into_vec()
            .map_err(|e| TrainError::Run(format!("{e:?}")))?;
        for (item, p) in chunk.iter().zip(predicted) {
            total[item.label] += 1;
            correct[item.label] += usize::from(p as usize == item.label);
        }
    }
    let all: usize = total.iter().sum();
    let right: usize = correct.iter().sum();
    let per_class = class_names
        .iter()
        .enumerate()
        .map(|(i, name)| ClassAccuracy {
            name: name.clone(),
            accuracy: correct[i] as f64 / total[i].max(1) as f64,
            images: total[i],
        })
        .collect();
    Ok((right as f64 / all.max(1) as f64, per_class))
}
