//! [`VitBackend`](crate::VitBackend) for each backend Burn 0.21 ships: kernels for the CPU
//! backends, Burn's composed ops for the others, fused backward nodes under `Autodiff`.

mod autodiff;
#[cfg(feature = "cubecl")]
mod cubecl;
#[cfg(feature = "flex")]
mod flex;
#[cfg(any(feature = "ndarray", feature = "flex"))]
mod host;
#[cfg(feature = "ndarray")]
mod ndarray;
#[cfg(any(feature = "candle", feature = "tch"))]
mod other;
