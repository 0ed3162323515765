//! Stochastic depth: drop a residual branch for whole samples while training.

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use vit_ops::VitBackend;

/// Per-sample stochastic depth ("DropPath"), as timm's `DropPath(scale_by_keep=True)`.
///
/// While training (an autodiff backend), each sample's branch output is zeroed with probability
/// `prob` and the survivors are scaled by `1 / (1 - prob)`; at inference it is the identity.
#[derive(Module, Clone, Debug)]
pub struct DropPath {
    /// Probability of dropping a sample's branch.
    pub prob: f64,
}

impl DropPath {
    /// A DropPath with drop probability `prob` (0 makes it the identity).
    pub fn new(prob: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&prob),
            "drop path probability {prob} must be in [0, 1)"
        );
        Self { prob }
    }

    /// Applies stochastic depth to a residual branch `[batch, ...]`.
    pub fn forward<B: VitBackend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        if self.prob == 0.0 || !B::ad_enabled(&x.device()) {
            return x;
        }
        let keep = 1.0 - self.prob;
        let mut mask_shape = [1usize; D];
        mask_shape[0] = x.dims()[0];
        let mask = Tensor::<B, D>::random(mask_shape, Distribution::Bernoulli(keep), &x.device());
        x * mask.div_scalar(keep)
    }
}

/// The drop-path rate of each of `depth` blocks, rising linearly from 0 to `max_rate`
/// (timm: `torch.linspace(0, drop_path_rate, depth)`).
pub fn drop_path_schedule(max_rate: f64, depth: usize) -> Vec<f64> {
    match depth {
        0 => vec![],
        1 => vec![0.0],
        _ => (0..depth)
            .map(|i| max_rate * i as f64 / (depth - 1) as f64)
            .collect(),
    }
}
