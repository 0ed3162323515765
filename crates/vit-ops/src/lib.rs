//! # vit-ops
//!
//! The operations a Vision Transformer spends its time in — GELU, softmax, LayerNorm, Linear,
//! multi-head attention, rotary embeddings —
//! as a Burn backend extension ([`VitBackend`]), the way `burn-vision` extends Burn:
//!
//! - on the CPU backends (NdArray, Flex; features `ndarray`, `flex`) they run hand-written
//!   kernels: one pass per op, exp/erf as branch-free polynomials vectorised for AVX-512, AVX2 or
//!   the portable target (picked at run time, [`kernels::simd::simd_level`]), rows spread over
//!   rayon's threads, Linear as one GEMM with the bias folded in (the `gemm` crate, AVX-512);
//! - under `Autodiff` each op is one graph node with a fused backward kernel, so training gets
//!   the speed too;
//! - on the GPU backends (feature `cubecl`: WGPU, CUDA, …) and the others (`candle`, `tch`)
//!   they are Burn's own ops, unchanged.
//!
//! One switch turns the kernels off and runs Burn's composed ops instead
//! ([`set_fast_path`], or `VIT_OPS=burn` in the environment).
//!
//! ```
//! # #[cfg(feature = "ndarray")] {
//! use burn::tensor::Tensor;
//! use burn_ndarray::NdArray;
//!
//! let x = Tensor::<NdArray, 2>::from_floats([[0.5, -1.0, 2.0]], &Default::default());
//! let y = vit_ops::gelu(x);
//! # }
//! ```

#![warn(missing_docs)]

mod activation;
mod api;
mod backend;
mod backends;
pub mod composed;
#[cfg(feature = "cubecl")]
pub mod kernel_cache;
pub mod kernels;
mod switch;

pub use activation::Activation;
pub use api::{
    activation, attention, depthwise_conv3x3, gelu, glu, layer_norm, linear, rms_norm, rope_qkv,
    round_to, softmax_last,
};
pub use backend::VitBackend;
pub use switch::{ENV_VAR, fast_path_enabled, set_fast_path};

/// A [`VitBackend`] that can also differentiate, with an inner backend that is one too:
/// the bound training code needs (`B::InnerBackend` runs validation).
pub trait VitAutodiffBackend:
    burn::tensor::backend::AutodiffBackend<InnerBackend: VitBackend> + VitBackend
{
}

impl<B> VitAutodiffBackend for B where
    B: burn::tensor::backend::AutodiffBackend<InnerBackend: VitBackend> + VitBackend
{
}
