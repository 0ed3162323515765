//! `vit`: the command line of the vit-burn model zoo.

#![warn(missing_docs)]

mod allocator;
mod backend;
mod commands;
mod gpu_driver;
mod image_input;
mod model_source;
mod precision_arg;

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
    quiet_broken_pipe();
    let cli = Cli::parse();
    let backend = cli.backend.unwrap_or_else(BackendKind::preferred);
    if let Err(error) = backend.prepare() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    match cli.command.run(backend) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", terminal_safe(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// `text` with control characters other than line breaks and tabs escaped: an error quoting a
/// file name must not send that name's escape sequences to the terminal.
fn terminal_safe(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `vit … | head` ends quietly when the reader goes away, as Unix tools do, instead of Rust's
/// default (SIGPIPE ignored, so `println!` panics with "Broken pipe").
fn quiet_broken_pipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: restores the default disposition of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
