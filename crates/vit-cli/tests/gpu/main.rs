//! The `vit` command and the zoo on WGPU (`--features vit-cli/wgpu`; without a GPU, Mesa's
//! software Vulkan).
#![cfg(feature = "wgpu")]

#[path = "../common/mod.rs"]
mod common;
mod parity;
mod training;
