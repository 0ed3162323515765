//! The transformer's feed-forward network: timm's `Mlp`, `SwiGLU` (separate gate and value
//! projections) and `GluMlp` (one packed projection, gate first: `SwiGLUPacked`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::layers::activation::Activation;
use crate::layers::init::timm_linear;
use crate::layers::linear::{linear, linear_scaled};
use crate::layers::norm::{Norm, NormKind, maybe_norm};

/// Which feed-forward network a block uses (timm's `mlp_layer`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MlpKind {
    /// `fc1 → act → fc2` (timm `Mlp`). Read from `"gelu"` too, its name when GELU was the only
    /// activation.
    #[default]
    #[serde(alias = "gelu")]
    Mlp,
    /// `fc2(act(fc1_g(x)) ⊙ fc1_x(x))` (timm `SwiGLU`: AIMv2, EVA-02; hidden width each).
    Swiglu,
    /// `fc1` of twice the gated width, split in halves `[gate | value]`:
    /// `fc2(act(gate) ⊙ value)` (timm `GluMlp(gate_last=False)` = `SwiGLUPacked`: DINOv2-g).
    /// `mlp_ratio` counts the packed width, as timm's.
    SwigluPacked,
}

impl MlpKind {
    /// Multiply-accumulates per token as multiples of `dim · hidden` (`hidden` from
    /// [`mlp_hidden`]): fc1 (or both input projections) and fc2.
    pub fn macs_per_dim_hidden(self) -> f64 {
        match self {
            Self::Mlp => 2.0,
            Self::Swiglu => 3.0,
            Self::SwigluPacked => 1.5,
        }
    }

    /// The width of the activation that reaches `fc2` for a `hidden` from [`mlp_hidden`].
    pub fn fc2_width(self, hidden: usize) -> usize {
        match self {
            Self::SwigluPacked => hidden / 2,
            Self::Mlp | Self::Swiglu => hidden,
        }
    }
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
    /// Hidden dimension (timm: `int(dim * mlp_ratio)`; the packed width for `swiglu_packed`).
    pub hidden: usize,
    /// `Mlp`, `SwiGLU` or packed SwiGLU.
    #[config(default = "MlpKind::Mlp")]
    pub kind: MlpKind,
    /// The activation (the gate's, in the gated forms).
    #[config(default = "Activation::Gelu")]
    pub act: Activation,
    /// Biases on the projections (timm's `proj_bias`, shared with the attention output).
    #[config(default = true)]
    pub bias: bool,
    /// A norm on the hidden activation before `fc2` (timm's `scale_mlp_norm`: BEiT-3).
    #[config(default = "None")]
    pub norm: Option<NormKind>,
    /// Epsilon of that norm.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// Dropout after the activation and after `fc2` (timm's `proj_drop`).
    #[config(default = 0.0)]
    pub drop: f64,
}

/// Feed-forward network with timm's parameter names (`fc1`, `fc2`; `fc1_g`, `fc1_x` for SwiGLU;
/// `norm` for the inner norm).
#[derive(Module, Debug)]
pub struct Mlp<B: VitBackend> {
    /// First projection (`Mlp`; packed gate and value for `swiglu_packed`).
    pub fc1: Option<Linear<B>>,
    /// Gate projection (`SwiGLU`).
    pub fc1_g: Option<Linear<B>>,
    /// Value projection (`SwiGLU`).
    pub fc1_x: Option<Linear<B>>,
    /// Optional norm on the hidden activation.
    pub norm: Option<Norm<B>>,
    /// Output projection.
    pub fc2: Linear<B>,
    /// Dropout after the activation and after `fc2`.
    pub drop: Dropout,
    /// The activation.
    pub act: Activation,
    /// The form of the network.
    pub kind: MlpKind,
}

impl MlpConfig {
    /// Builds the MLP with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Mlp<B> {
        let linear_in = || Some(timm_linear(self.dim, self.hidden, self.bias, device));
        let (fc1, fc1_g, fc1_x) = match self.kind {
            MlpKind::Mlp | MlpKind::SwigluPacked => (linear_in(), None, None),
            MlpKind::Swiglu => (None, linear_in(), linear_in()),
        };
        let width = self.kind.fc2_width(self.hidden);
        Mlp {
            fc1,
            fc1_g,
            fc1_x,
            norm: self
                .norm
                .map(|kind| kind.init(width, self.norm_eps, device)),
            fc2: timm_linear(width, self.dim, self.bias, device),
            drop: DropoutConfig::new(self.drop).init(),
            act: self.act,
            kind: self.kind,
        }
    }
}

impl<B: VitBackend> Mlp<B> {
    /// Applies the MLP to `x [..., dim]`.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.forward_scaled(x, None)
    }

    /// [`Self::forward`] followed by a LayerScale `gamma [dim]`, folded into `fc2`
    /// ([`linear_scaled`]: no pass over the tokens for the scale).
    pub fn forward_scaled<const D: usize>(
        &self,
        x: Tensor<B, D>,
        gamma: Option<Tensor<B, 1>>,
    ) -> Tensor<B, D> {
        let hidden = match (&self.fc1, &self.fc1_g, &self.fc1_x) {
            (Some(fc1), _, _) if self.kind == MlpKind::SwigluPacked => {
                let packed = linear(fc1, x);
                let half = packed.dims()[D - 1] / 2;
                let gate = packed.clone().narrow(D - 1, 0, half);
                let value = packed.narrow(D - 1, half, half);
                self.act.gate(gate, value)
            }
            (Some(fc1), _, _) => self.act.forward(linear(fc1, x)),
            (None, Some(gate), Some(value)) => {
                self.act.gate(linear(gate, x.clone()), linear(value, x))
            }
            _ => unreachable!("an Mlp holds either fc1 or both fc1_g and fc1_x"),
        };
        let hidden = maybe_norm(&self.norm, self.drop.forward(hidden));
        let out = match gamma {
            Some(gamma) => linear_scaled(&self.fc2, hidden, gamma),
            None => linear(&self.fc2, hidden),
        };
        self.drop.forward(out)
    }
}
