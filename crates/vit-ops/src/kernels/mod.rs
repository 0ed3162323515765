//! The CPU kernels: plain functions over contiguous `f32` buffers, independent of any backend.
//! Outputs are `MaybeUninit` buffers that each kernel overwrites completely (no zero-fill).

pub mod attention;
pub mod depthwise;
pub mod elementwise;
pub mod gemm;
pub mod layer_norm;
pub mod linear;
pub mod math;
pub mod parallel;
pub mod rms_norm;
pub mod rope;
pub mod round;
pub mod simd;
pub mod softmax;
