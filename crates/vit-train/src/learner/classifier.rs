//! Any zoo model as a classifier burn-train's Learner can train: cross-entropy (label
//! smoothing, or the soft targets of Mixup/CutMix) on its logits, and for a distilled DeiT the
//! DeiT loss against a teacher; the steps run under the run's autocast precision, and f16's
//! training step scales the loss.

use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Int, Tensor};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use vit_core::model::VisionModel;
use vit_core::precision::{Precision, autocast};
use vit_core::{VitAutodiffBackend, VitBackend};
use vit_variants::zoo::ZooModel;

use crate::cluster::NodeGroup;
use crate::data::batcher::ImageBatch;
use crate::learner::loss::{DistillationLoss, soft_target_cross_entropy};
use crate::optim::loss_scale::LossScaler;

/// The loss settings (constants of the module, not parameters).
#[derive(Debug, Clone, Default)]
pub struct LossSettings {
    /// Label smoothing of the hard-label cross-entropy (0 = off).
    pub label_smoothing: f64,
    /// DeiT distillation (with `Classifier::teacher`).
    pub distillation: Option<DistillationLoss>,
}

/// The precision the steps run in.
#[derive(Debug, Clone, Default)]
pub struct MixedPrecision {
    /// Autocast precision of the forward (and so the backward) pass.
    pub precision: Precision,
    /// f16's loss scale: the loss is multiplied by it before the backward pass (the optimiser,
    /// which shares it, divides it out).
    pub loss_scaler: Option<LossScaler>,
}

/// A zoo model with its training loss and, for distillation, a frozen teacher.
#[derive(Module, Debug)]
pub struct Classifier<B: VitBackend> {
    /// The model being trained.
    pub model: ZooModel<B>,
    /// The teacher (no gradients; run without dropout on the inner backend).
    pub teacher: Option<ZooModel<B>>,
    /// Loss settings.
    #[module(skip)]
    pub loss: LossSettings,
    /// Precision of the steps.
    #[module(skip)]
    pub mixed: MixedPrecision,
    /// In a multi-node run, the other nodes: each step's gradients are their mean over all.
    #[module(skip)]
    pub nodes: Option<NodeGroup>,
}

fn cross_entropy<B: VitBackend>(
    logits: Tensor<B, 2>,
    labels: Tensor<B, 1, Int>,
    smoothing: f64,
) -> Tensor<B, 1> {
    let mut loss = CrossEntropyLossConfig::new();
    if smoothing > 0.0 {
        loss = loss.with_smoothing(Some(smoothing as f32));
    }
    loss.init(&logits.device()).forward(logits, labels)
}

impl<B: VitBackend> Classifier<B> {
    /// The loss of `logits` on the batch: soft targets when Mixup/CutMix made them, else the
    /// labels with label smoothing.
    fn base_loss(&self, logits: Tensor<B, 2>, batch: &ImageBatch<B>) -> Tensor<B, 1> {
        match &batch.targets {
            Some(targets) => soft_target_cross_entropy(logits, targets.clone()),
            None => cross_entropy(logits, batch.labels.clone(), self.loss.label_smoothing),
        }
    }
}

impl<B: VitAutodiffBackend> Classifier<B> {
    /// The training loss and the logits the metrics see (DeiT: the mean of both heads).
    pub fn training_loss(&self, batch: &ImageBatch<B>) -> (Tensor<B, 1>, Tensor<B, 2>) {
        let images = batch.images.clone();
        let (cls, dist) = self.model.forward_train(images.clone());
        match (dist, &self.teacher, &self.loss.distillation) {
            (Some(dist), Some(teacher), Some(distillation)) => {
                let base = self.base_loss(cls.clone(), batch);
                // The teacher runs on the inner backend: no graph, no dropout.
                let teacher_logits = Tensor::from_inner(teacher.valid().forward(images.inner()));
                let loss = distillation.forward(base, dist.clone(), teacher_logits);
                (loss, (cls + dist).div_scalar(2.0))
            }
            (dist, _, _) => {
                // Without a teacher a distilled model trains the mean of its heads (its
                // inference output).
                let logits = match dist {
                    Some(dist) => (cls + dist).div_scalar(2.0),
                    None => cls,
                };
                (self.base_loss(logits.clone(), batch), logits)
            }
        }
    }
}

impl<B: VitAutodiffBackend> TrainStep for Classifier<B> {
    type Input = ImageBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: ImageBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        // Dropout and stochastic depth draw from the backend's RNG: seeding it from the batch
        // makes a resumed run repeat the uninterrupted one.
        B::seed(&batch.images.device(), batch.seed);
        let (loss, logits) = {
            let _autocast = autocast(self.mixed.precision);
            self.training_loss(&batch)
        };
        let out = ClassificationOutput::new(loss, logits, batch.labels);
        let grads = match &self.mixed.loss_scaler {
            Some(scaler) => out.loss.clone().mul_scalar(scaler.scale()).backward(),
            None => out.loss.backward(),
        };
        match &self.nodes {
            None => TrainOutput::new(self, grads, out),
            Some(nodes) => {
                nodes.verify_once::<B, Self>(self);
                let mut grads = GradientsParams::from_grads(grads, self);
                nodes.mean_grads::<B, Self>(self, &mut grads);
                TrainOutput { grads, item: out }
            }
        }
    }
}

impl<B: VitBackend> InferenceStep for Classifier<B> {
    type Input = ImageBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: ImageBatch<B>) -> ClassificationOutput<B> {
        let logits = {
            let _autocast = autocast(self.mixed.precision);
            self.model.forward(batch.images)
        };
        let loss = cross_entropy(logits.clone(), batch.labels.clone(), 0.0);
        ClassificationOutput::new(loss, logits, batch.labels)
    }
}
