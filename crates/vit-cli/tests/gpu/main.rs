//! The zoo and the `vit` command on the GPU backends: WGPU (`--features vit-cli/wgpu`; without a
//! GPU, Mesa's software Vulkan) and CUDA (`--features vit-cli/cuda`, needs an NVIDIA driver).
//! `scripts/gpu-check.sh` runs this executable on a GPU machine.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

#[path = "../common/mod.rs"]
mod common;
mod parity;
mod precision;
mod training;
