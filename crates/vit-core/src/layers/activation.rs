//! The activations of timm's ViT family (`act_layer`): exact GELU, its tanh approximation
//! (SigLIP), OpenAI CLIP's QuickGELU and SiLU (the gate of SwiGLU).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

/// An element-wise activation, named as timm's `get_act_layer` names it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `x·Φ(x)` with the exact (erf) normal CDF — `nn.GELU()`, timm's default.
    #[default]
    Gelu,
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` — `nn.GELU(approximate='tanh')` (SigLIP).
    GeluTanh,
    /// `x·σ(1.702x)` — OpenAI CLIP's `QuickGELU`.
    QuickGelu,
    /// `x·σ(x)` — `nn.SiLU` (SwiGLU's gate).
    Silu,
}

impl Activation {
    /// timm's name of the activation (`act_layer` in a timm `config.json`).
    pub fn timm_name(self) -> &'static str {
        match self {
            Self::Gelu => "gelu",
            Self::GeluTanh => "gelu_tanh",
            Self::QuickGelu => "quick_gelu",
            Self::Silu => "silu",
        }
    }

    /// The activation timm's `get_act_layer` returns for `name` (also the class names timm
    /// writes: `GELU`, `GELUTanh`, `QuickGELU`, `SiLU`, `swish`); `None` for any other.
    pub fn from_timm_name(name: &str) -> Option<Self> {
        Some(match name {
            "gelu" | "GELU" => Self::Gelu,
            "gelu_tanh" | "GELUTanh" => Self::GeluTanh,
            "quick_gelu" | "QuickGELU" => Self::QuickGelu,
            "silu" | "swish" | "SiLU" => Self::Silu,
            _ => return None,
        })
    }

    /// Applies the activation element-wise: exact GELU and the others on vit-ops' kernels
    /// (forward and backward; Burn's ops on the backends without them).
    pub fn forward<B: VitBackend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Self::Gelu => vit_ops::gelu(x),
            other => vit_ops::activation(x, other.kernel()),
        }
    }

    /// `act(gate) ⊙ value`, the gated unit of SwiGLU, as one vit-ops kernel.
    pub fn gate<B: VitBackend, const D: usize>(
        self,
        gate: Tensor<B, D>,
        value: Tensor<B, D>,
    ) -> Tensor<B, D> {
        vit_ops::glu(gate, value, self.kernel())
    }

    /// vit-ops' name of the activation.
    fn kernel(self) -> vit_ops::Activation {
        match self {
            Self::Gelu => vit_ops::Activation::Gelu,
            Self::GeluTanh => vit_ops::Activation::GeluTanh,
            Self::QuickGelu => vit_ops::Activation::QuickGelu,
            Self::Silu => vit_ops::Activation::Silu,
        }
    }
}
