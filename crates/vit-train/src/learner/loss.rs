//! The training losses: cross-entropy against the soft targets Mixup/CutMix make (timm's
//! `SoftTargetCrossEntropy`) and DeiT's distillation loss (`DistillationLoss` in the DeiT
//! reference code).

use crate::error::{Result, TrainError};
use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};
use serde::{Deserialize, Serialize};
use vit_core::VitBackend;

/// Mean over the batch of `−Σ target · log_softmax(logits)`.
pub fn soft_target_cross_entropy<B: VitBackend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 2>,
) -> Tensor<B, 1> {
    (targets.neg() * log_softmax(logits, 1)).sum_dim(1).mean()
}

/// How the teacher teaches (DeiT's `--distillation-type`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DistillationKind {
    /// No teacher term: the loss is the base loss.
    None,
    /// KL divergence to the teacher's softened distribution at temperature τ.
    Soft,
    /// Cross-entropy against the teacher's arg-max class.
    Hard,
}

/// DeiT's distillation loss: `(1 − α) · base + α · teacher term`, the teacher term on the
/// distillation head's logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistillationLoss {
    /// `none`, `soft` or `hard`.
    pub kind: DistillationKind,
    /// Weight of the teacher term (DeiT: 0.5).
    pub alpha: f64,
    /// Temperature of the soft term (DeiT: 1.0).
    pub tau: f64,
}

impl DistillationLoss {
    /// Mixes `base_loss` (the class head's loss on the labels) with the teacher term on the
    /// distillation head's logits `student_dist`.
    pub fn forward<B: VitBackend>(
        &self,
        base_loss: Tensor<B, 1>,
        student_dist: Tensor<B, 2>,
        teacher: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let term = match self.kind {
            DistillationKind::None => return base_loss,
            DistillationKind::Soft => {
                // KL(teacher ‖ student) summed, × τ², divided by the number of logits
                // (batch × classes), exactly as DeiT's reference code.
                let t = self.tau;
                let numel = student_dist.dims().iter().product::<usize>() as f64;
                let log_student = log_softmax(student_dist.div_scalar(t), 1);
                let teacher = teacher.div_scalar(t);
                let (p_teacher, log_teacher) =
                    (softmax(teacher.clone(), 1), log_softmax(teacher, 1));
                (p_teacher * (log_teacher - log_student))
                    .sum()
                    .mul_scalar(t * t / numel)
            }
            DistillationKind::Hard => {
                let labels = teacher.argmax(1);
                let log_p = log_softmax(student_dist, 1);
                log_p.gather(1, labels).neg().mean()
            }
        };
        base_loss.mul_scalar(1.0 - self.alpha) + term.mul_scalar(self.alpha)
    }

    /// Checks α ∈ [0, 1] and τ > 0.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(TrainError::Config(format!(
                "distillation.alpha must be in [0, 1], got {}",
                self.alpha
            )));
        }
        if !(self.tau.is_finite() && self.tau > 0.0) {
            return Err(TrainError::Config(format!(
                "distillation.tau must be finite and > 0, got {}",
                self.tau
            )));
        }
        Ok(())
    }
}
