//! Any zoo model as a classifier burn-train's Learner can train: cross-entropy (with label
//! smoothing) on its logits.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use vit_variants::zoo::ZooModel;

use crate::batcher::ImageBatch;

/// A zoo model with its training loss.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    /// The model.
    pub model: ZooModel<B>,
    /// Label smoothing of the cross-entropy (0 = off).
    pub label_smoothing: f64,
}

impl<B: Backend> Classifier<B> {
    /// Logits, loss and targets of a batch.
    pub fn forward_classification(&self, batch: ImageBatch<B>) -> ClassificationOutput<B> {
        let output = self.model.forward(batch.images);
        let mut loss = CrossEntropyLossConfig::new();
        if self.label_smoothing > 0.0 {
            loss = loss.with_smoothing(Some(self.label_smoothing as f32));
        }
        let loss = loss
            .init(&output.device())
            .forward(output.clone(), batch.labels.clone());
        ClassificationOutput::new(loss, output, batch.labels)
    }
}

impl<B: AutodiffBackend> TrainStep for Classifier<B> {
    type Input = ImageBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: ImageBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let out = self.forward_classification(batch);
        TrainOutput::new(self, out.loss.backward(), out)
    }
}

impl<B: Backend> InferenceStep for Classifier<B> {
    type Input = ImageBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: ImageBatch<B>) -> ClassificationOutput<B> {
        self.forward_classification(batch)
    }
}
