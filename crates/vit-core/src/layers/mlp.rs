//! The transformer's feed-forward network: GELU MLP, or SwiGLU.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use burn::tensor::activation::silu;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::layers::init::timm_linear;
use crate::layers::linear::linear;

/// Which feed-forward network a block uses.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MlpKind {
    /// `fc1 → GELU (exact, erf) → fc2` (timm `Mlp`).
    #[default]
    Gelu,
    /// `fc2(SiLU(fc1_g(x)) ⊙ fc1_x(x))` (timm `SwiGLU`, as in EVA-02 and LLaMA).
    Swiglu,
}

/// Hidden width of the MLP for a `dim` and `mlp_ratio`, as timm rounds it.
pub fn mlp_hidden(dim: usize, mlp_ratio: f64) -> usize {
    (dim as f64 * mlp_ratio) as usize
}

/// Configuration of an [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input (and output) dimension.
    pub dim: usize,
    /// Hidden dimension (timm: `int(dim * mlp_ratio)`).
    pub hidden: usize,
    /// GELU MLP or SwiGLU.
    #[config(default = "MlpKind::Gelu")]
    pub kind: MlpKind,
    /// Dropout after the activation and after `fc2` (timm's `proj_drop`).
    #[config(default = 0.0)]
    pub drop: f64,
}

/// Feed-forward network with timm's parameter names (`fc1`, `fc2`; `fc1_g`, `fc1_x` for SwiGLU).
#[derive(Module, Debug)]
pub struct Mlp<B: VitBackend> {
    /// First projection (GELU form).
    pub fc1: Option<Linear<B>>,
    /// Gate projection (SwiGLU form).
    pub fc1_g: Option<Linear<B>>,
    /// Value projection (SwiGLU form).
    pub fc1_x: Option<Linear<B>>,
    /// Output projection.
    pub fc2: Linear<B>,
    /// Dropout after the activation and after `fc2`.
    pub drop: Dropout,
}

impl MlpConfig {
    /// Builds the MLP with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Mlp<B> {
        let linear_in = || Some(timm_linear(self.dim, self.hidden, true, device));
        let (fc1, fc1_g, fc1_x) = match self.kind {
            MlpKind::Gelu => (linear_in(), None, None),
            MlpKind::Swiglu => (None, linear_in(), linear_in()),
        };
        Mlp {
            fc1,
            fc1_g,
            fc1_x,
            fc2: timm_linear(self.hidden, self.dim, true, device),
            drop: DropoutConfig::new(self.drop).init(),
        }
    }
}

impl<B: VitBackend> Mlp<B> {
    /// Applies the MLP to `x [..., dim]`.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let hidden = match (&self.fc1, &self.fc1_g, &self.fc1_x) {
            (Some(fc1), _, _) => vit_ops::gelu(linear(fc1, x)),
            (None, Some(gate), Some(value)) => silu(linear(gate, x.clone())) * linear(value, x),
            _ => unreachable!("an Mlp holds either fc1 or both fc1_g and fc1_x"),
        };
        self.drop
            .forward(linear(&self.fc2, self.drop.forward(hidden)))
    }
}
