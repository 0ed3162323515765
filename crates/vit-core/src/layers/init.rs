//! timm's weight initialisation: truncated-normal Linear weights, zero biases.

use burn::module::{Initializer, Param, ParamId};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Distribution, Shape, Tensor};
use vit_ops::VitBackend;

/// Standard deviation timm uses for Linear weights, tokens' neighbours and position embeddings.
pub const TIMM_INIT_STD: f64 = 0.02;

/// Samples a normal distribution `N(mean, std²)` truncated to `[low, high]`.
///
/// Values that fall outside are redrawn (a few rounds), and whatever is still outside after that
/// is clamped, so the result always lies in the interval. timm's `trunc_normal_(std=.02)` uses the
/// absolute bounds `[-2, 2]`; [`trunc_normal_timm`] follows it.
pub fn trunc_normal<B: VitBackend, const D: usize>(
    shape: impl Into<Shape>,
    mean: f64,
    std: f64,
    low: f64,
    high: f64,
    device: &B::Device,
) -> Tensor<B, D> {
    let shape = shape.into();
    let draw = || Tensor::<B, D>::random(shape.clone(), Distribution::Normal(mean, std), device);
    let mut x = draw();
    // Each round redraws only the outliers; with |bound| ≥ 2σ fewer than 5% remain per round.
    for _ in 0..4 {
        let outside = x
            .clone()
            .lower_elem(low)
            .bool_or(x.clone().greater_elem(high));
        x = x.mask_where(outside, draw());
    }
    x.clamp(low, high)
}

/// timm's default: `trunc_normal_(tensor, std)` with bounds `[-2, 2]`.
pub fn trunc_normal_timm<B: VitBackend, const D: usize>(
    shape: impl Into<Shape>,
    std: f64,
    device: &B::Device,
) -> Tensor<B, D> {
    trunc_normal(shape, 0.0, std, -2.0, 2.0, device)
}

/// A Linear layer initialised as timm's `init_weights_vit_timm`: weight ~ trunc-normal(0.02),
/// bias = 0. Burn stores the weight as `[d_input, d_output]`.
pub fn timm_linear<B: VitBackend>(
    d_input: usize,
    d_output: usize,
    bias: bool,
    device: &B::Device,
) -> Linear<B> {
    let mut linear = LinearConfig::new(d_input, d_output)
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device);
    linear.weight = lazy_param([d_input, d_output], device, move |device| {
        trunc_normal_timm([d_input, d_output], TIMM_INIT_STD, device)
    });
    linear
}

/// A parameter initialised on first use by `init`, as Burn's own initialisers do: building a
/// model whose weights are about to be loaded (or only counted) allocates nothing.
pub fn lazy_param<B: VitBackend, const D: usize, F>(
    shape: [usize; D],
    device: &B::Device,
    init: F,
) -> Param<Tensor<B, D>>
where
    F: Fn(&B::Device) -> Tensor<B, D> + Send + Sync + 'static,
{
    Param::uninitialized(
        ParamId::new(),
        move |device, require_grad| {
            let tensor = init(device);
            if require_grad {
                tensor.require_grad()
            } else {
                tensor
            }
        },
        device.clone(),
        true,
        Shape::from(shape),
    )
}
