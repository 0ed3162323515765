//! LayerNorm over the last dimension on [`vit_ops::layer_norm`] (one fused kernel on the CPU
//! backends, forward and backward). Drop-in for `burn::nn::LayerNorm`: same config, same
//! parameter names (`gamma`, `beta`), so records and timm key mapping are unchanged.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

/// Configuration of a [`LayerNorm`].
#[derive(Config, Debug)]
pub struct LayerNormConfig {
    /// Size of the normalised (last) dimension.
    pub d_model: usize,
    /// Added to the variance before the square root (PyTorch's default 1e-5; timm's ViT 1e-6).
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Whether there is a learnt shift `beta`.
    #[config(default = true)]
    pub bias: bool,
}

/// `(x − mean)/√(var + ε)·γ + β` over the last dimension, `γ` initialised to 1 and `β` to 0.
#[derive(Module, Debug)]
pub struct LayerNorm<B: VitBackend> {
    /// Scale `γ`, `[d_model]`.
    pub gamma: Param<Tensor<B, 1>>,
    /// Shift `β`, `[d_model]`.
    pub beta: Option<Param<Tensor<B, 1>>>,
    /// Added to the variance.
    pub epsilon: f64,
}

impl LayerNormConfig {
    /// Builds the layer on `device`.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> LayerNorm<B> {
        LayerNorm {
            gamma: Initializer::Ones.init([self.d_model], device),
            beta: self
                .bias
                .then(|| Initializer::Zeros.init([self.d_model], device)),
            epsilon: self.epsilon,
        }
    }
}

impl<B: VitBackend> LayerNorm<B> {
    /// Normalises `x [..., d_model]` over its last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        vit_ops::layer_norm(
            x,
            self.gamma.val(),
            self.beta.as_ref().map(Param::val),
            self.epsilon,
        )
    }
}

/// Configuration of an [`RmsNorm`].
#[derive(Config, Debug)]
pub struct RmsNormConfig {
    /// Size of the normalised (last) dimension.
    pub d_model: usize,
    /// Added to the mean square before the square root (timm's default 1e-6).
    #[config(default = 1e-6)]
    pub epsilon: f64,
}

/// `x/√(mean(x²) + ε)·w` over the last dimension (timm's `RmsNorm`, AIMv2), `w` initialised
/// to 1; timm key `weight`.
#[derive(Module, Debug)]
pub struct RmsNorm<B: VitBackend> {
    /// Scale `w`, `[d_model]`.
    pub weight: Param<Tensor<B, 1>>,
    /// Added to the mean square.
    pub epsilon: f64,
}

impl RmsNormConfig {
    /// Builds the layer on `device`.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> RmsNorm<B> {
        RmsNorm {
            weight: Initializer::Ones.init([self.d_model], device),
            epsilon: self.epsilon,
        }
    }
}

impl<B: VitBackend> RmsNorm<B> {
    /// Normalises `x [..., d_model]` over its last dimension ([`vit_ops::rms_norm`]: one fused
    /// kernel on the CPU backends, forward and backward).
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        vit_ops::rms_norm(x, self.weight.val(), self.epsilon)
    }
}

/// Which normalisation a model uses (timm's `norm_layer`), named as timm's `get_norm_layer`.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    /// LayerNorm with a learned scale and shift.
    #[default]
    LayerNorm,
    /// RMSNorm: no centring, a learned scale only.
    RmsNorm,
}

impl NormKind {
    /// timm's name of the norm (`norm_layer` in a timm `config.json`).
    pub fn timm_name(self) -> &'static str {
        match self {
            Self::LayerNorm => "layernorm",
            Self::RmsNorm => "rmsnorm",
        }
    }

    /// The norm timm's `get_norm_layer` returns for `name` (its class names too).
    pub fn from_timm_name(name: &str) -> Option<Self> {
        Some(match name {
            "layernorm" | "LayerNorm" => Self::LayerNorm,
            "rmsnorm" | "RmsNorm" => Self::RmsNorm,
            _ => return None,
        })
    }

    /// Builds a norm of this kind over `d_model` channels.
    pub fn init<B: VitBackend>(self, d_model: usize, epsilon: f64, device: &B::Device) -> Norm<B> {
        match self {
            Self::LayerNorm => Norm::LayerNorm(
                LayerNormConfig::new(d_model)
                    .with_epsilon(epsilon)
                    .init(device),
            ),
            Self::RmsNorm => Norm::RmsNorm(
                RmsNormConfig::new(d_model)
                    .with_epsilon(epsilon)
                    .init(device),
            ),
        }
    }
}

/// A LayerNorm or an RMSNorm: the norm a ViT's blocks, pre-norm, final norm and pools share.
#[derive(Module, Debug)]
pub enum Norm<B: VitBackend> {
    /// LayerNorm (timm keys `weight`, `bias`).
    LayerNorm(LayerNorm<B>),
    /// RMSNorm (timm key `weight`).
    RmsNorm(RmsNorm<B>),
}

impl<B: VitBackend> Norm<B> {
    /// Normalises `x [..., d_model]` over its last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Self::LayerNorm(norm) => norm.forward(x),
            Self::RmsNorm(norm) => norm.forward(x),
        }
    }

    /// The LayerNorm inside, if this is one.
    pub fn as_layer_norm(&self) -> Option<&LayerNorm<B>> {
        match self {
            Self::LayerNorm(norm) => Some(norm),
            Self::RmsNorm(_) => None,
        }
    }
}

/// Applies an optional norm: `x` unchanged when there is none.
pub fn maybe_norm<B: VitBackend, const D: usize>(
    norm: &Option<Norm<B>>,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    match norm {
        Some(norm) => norm.forward(x),
        None => x,
    }
}
