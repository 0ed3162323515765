//! The activations besides exact GELU that timm's ViT family uses, as one kernel family.

/// An element-wise activation with a vit-ops kernel (exact GELU has its own, [`crate::gelu`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (PyTorch's `gelu(approximate='tanh')`).
    GeluTanh,
    /// `x·σ(1.702x)` (OpenAI CLIP).
    QuickGelu,
    /// `x·σ(x)`.
    Silu,
}

impl Activation {
    /// `k` of the `x·σ(kx)` forms (1 for the tanh GELU, which is not one).
    pub fn sigmoid_scale(self) -> f32 {
        match self {
            Self::QuickGelu => 1.702,
            Self::Silu | Self::GeluTanh => 1.0,
        }
    }
}
