//! `vit`: the command line of the vit-burn model zoo.

#![warn(missing_docs)]

mod allocator;
mod backend;
mod commands;
mod image_input;
mod model_source;
mod npy;

use std::process::ExitCode;

use clap::Parser;

use backend::BackendKind;
use commands::Command;

/// The vit-burn model zoo: Vision Transformers on Burn.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Backend to run on (those compiled in; default: the first of cuda, wgpu, ndarray, flex).
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendKind>,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = Cli::parse();
    let backend = cli.backend.unwrap_or_else(BackendKind::preferred);
    match cli.command.run(backend) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
