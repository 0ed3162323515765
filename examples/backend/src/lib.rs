//! The backend the examples run on, picked by cargo feature: `ndarray` (the default, CPU),
//! `wgpu` (`--no-default-features --features wgpu`) or `cuda`. A binary of your own picks its
//! backend the same way: the model crates are generic over it.

/// The examples' backend.
#[cfg(feature = "ndarray")]
pub type B = burn::backend::NdArray;
/// The examples' backend.
#[cfg(all(feature = "wgpu", not(feature = "ndarray")))]
pub type B = burn::backend::Wgpu;
/// The examples' backend.
#[cfg(all(feature = "cuda", not(any(feature = "ndarray", feature = "wgpu"))))]
pub type B = burn::backend::Cuda;
