//! Swin's patch merging: every 2×2 block of tokens becomes one token of twice the width.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::layers::init::timm_linear;
use vit_core::layers::linear;
use vit_core::layers::{LayerNorm, LayerNormConfig};

/// Configuration of a [`PatchMerging`].
#[derive(Config, Debug)]
pub struct PatchMergingConfig {
    /// Input token dimension `C`.
    pub dim: usize,
    /// Output dimension (Swin: `2·C`).
    pub out_dim: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-5)]
    pub norm_eps: f64,
    /// Swin V2's order: the Linear first, then the norm over its output.
    #[config(default = false)]
    pub norm_after: bool,
}

/// LayerNorm on the concatenated 2×2 neighbours (4C) and a bias-free Linear 4C → out
/// (timm's `PatchMerging`, same keys); Swin V2 norms the Linear's output instead.
#[derive(Module, Debug)]
pub struct PatchMerging<B: VitBackend> {
    /// Norm over the 4C concatenation (V2: over the output).
    pub norm: LayerNorm<B>,
    /// Linear 4C → out, no bias.
    pub reduction: Linear<B>,
    /// V2's order: the norm after the Linear.
    pub norm_after: bool,
}

impl PatchMergingConfig {
    /// Builds the module.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> PatchMerging<B> {
        PatchMerging {
            norm: LayerNormConfig::new(if self.norm_after {
                self.out_dim
            } else {
                4 * self.dim
            })
            .with_epsilon(self.norm_eps)
            .init(device),
            reduction: timm_linear(4 * self.dim, self.out_dim, false, device),
            norm_after: self.norm_after,
        }
    }
}

impl<B: VitBackend> PatchMerging<B> {
    /// `[B, H, W, C]` → `[B, ⌈H/2⌉, ⌈W/2⌉, out]`; odd sides are zero-padded first. The
    /// concatenation order is timm's: (0,0), (1,0), (0,1), (1,1) — rows vary fastest.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, w, c] = x.dims();
        let device = x.device();
        let mut x = x;
        if h % 2 == 1 {
            x = Tensor::cat(vec![x, Tensor::zeros([b, 1, w, c], &device)], 1);
        }
        if w % 2 == 1 {
            x = Tensor::cat(vec![x, Tensor::zeros([b, h + h % 2, 1, c], &device)], 2);
        }
        let [_, h, w, _] = x.dims();
        let merged = x
            .reshape([b, h / 2, 2, w / 2, 2, c])
            .permute([0, 1, 3, 4, 2, 5])
            .reshape([b, h / 2, w / 2, 4 * c]);
        if self.norm_after {
            self.norm.forward(linear(&self.reduction, merged))
        } else {
            linear(&self.reduction, self.norm.forward(merged))
        }
    }
}
