//! The `vit` command as a user runs it (CPU backend).

mod commands;
#[path = "../common/mod.rs"]
mod common;
/// The `.npy` reader and writer of the binary, with its unit test.
#[path = "../../src/npy.rs"]
mod npy;
mod views;
