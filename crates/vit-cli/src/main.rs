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
    report_panics_in_one_line();
    // A panic (ours or a library's) is reported as an error, not Rust's exit code 101.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cli.command.run(backend).map_err(|e| e.to_string())
    }));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {}", terminal_safe(&error));
            ExitCode::FAILURE
        }
        // The hook has printed the message.
        Err(_) => ExitCode::from(INTERNAL_ERROR),
    }
}

/// The exit code of a failure the program did not foresee (a panic): `EX_SOFTWARE`.
const INTERNAL_ERROR: u8 = 70;

/// Prints a panic as one `error:` line naming where it happened (and how to see more),
/// instead of Rust's default multi-line report.
fn report_panics_in_one_line() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            return default(info);
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        eprintln!(
            "error: internal failure in thread `{}`: {}{place} (a bug: please report it; \
             RUST_BACKTRACE=1 shows more)",
            thread.name().unwrap_or("unnamed"),
            terminal_safe(&message)
        );
    }));
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
