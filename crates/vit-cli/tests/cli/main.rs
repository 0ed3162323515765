//! The `vit` command as a user runs it (CPU backend).

mod commands;
#[path = "../common/mod.rs"]
mod common;
mod embed;
/// The GPU driver check of the binary, with its tests.
#[path = "../../src/gpu_driver.rs"]
#[allow(dead_code)]
mod gpu_driver;
mod gpu_driver_check;
mod hostile;
mod hub;
mod multinode;
mod precision;
mod views;

/// Whether a run's standard error shows a panic (Rust's report, or the one-line report `vit`
/// gives one).
pub fn panicked(stderr: &str) -> bool {
    stderr.contains("panicked") || stderr.contains("internal failure")
}
