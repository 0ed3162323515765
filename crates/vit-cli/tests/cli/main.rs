//! The `vit` command as a user runs it (CPU backend).

mod commands;
#[path = "../common/mod.rs"]
mod common;
mod views;
