//! The activations of timm's ViT family (`act_layer`): exact GELU, its tanh approximation
//! (SigLIP), OpenAI CLIP's QuickGELU and SiLU (the gate of SwiGLU).

use burn::tensor::Tensor;
use burn::tensor::activation::tanh;
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

    /// Applies the activation element-wise. The sigmoid forms are `x/(1 + e^(−kx))` with one
    /// exponential and a division: Burn's `sigmoid` (`exp(−log(1 + e^(−x)))`) and NdArray's
    /// `recip` each cost ~5e-5 of relative accuracy against timm (AIMv2's SwiGLU).
    pub fn forward<B: VitBackend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Self::Gelu => vit_ops::gelu(x),
            Self::GeluTanh => {
                const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
                let cube = x.clone() * x.clone() * x.clone();
                let inner = (x.clone() + cube.mul_scalar(0.044715)).mul_scalar(SQRT_2_OVER_PI);
                x.mul_scalar(0.5) * (tanh(inner) + 1.0)
            }
            Self::QuickGelu => x.clone() / (x.mul_scalar(-1.702).exp() + 1.0),
            Self::Silu => x.clone() / (x.neg().exp() + 1.0),
        }
    }
}
