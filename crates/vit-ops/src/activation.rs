//! The activations besides exact GELU that timm's ViT family uses, as one kernel family.

/// An element-wise activation with a vit-ops kernel ([`crate::activation`], and the gate of
/// [`crate::glu`]; exact GELU also has its own op, [`crate::gelu`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// Exact GELU, `x·Φ(x)`.
    Gelu,
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (PyTorch's `gelu(approximate='tanh')`).
    GeluTanh,
    /// `x·σ(1.702x)` (OpenAI CLIP).
    QuickGelu,
    /// `x·σ(x)`.
    Silu,
}

impl Activation {
    /// `k` of the `x·σ(kx)` forms (1 for the GELUs, which are not).
    pub fn sigmoid_scale(self) -> f32 {
        match self {
            Self::QuickGelu => 1.702,
            Self::Silu | Self::GeluTanh | Self::Gelu => 1.0,
        }
    }
}

impl Activation {
    /// `act(x)` of one value.
    #[inline(always)]
    pub(crate) fn apply(self, x: f32) -> f32 {
        use crate::kernels::math;
        match self {
            Self::Gelu => math::gelu(x),
            Self::GeluTanh => math::gelu_tanh(x),
            Self::QuickGelu | Self::Silu => math::sigmoid_linear(x, self.sigmoid_scale()),
        }
    }

    /// `act'(x)` of one value.
    #[inline(always)]
    pub(crate) fn derivative(self, x: f32) -> f32 {
        use crate::kernels::math;
        match self {
            Self::Gelu => math::gelu_derivative(x),
            Self::GeluTanh => math::gelu_tanh_derivative(x),
            Self::QuickGelu | Self::Silu => {
                math::sigmoid_linear_derivative(x, self.sigmoid_scale())
            }
        }
    }
}
