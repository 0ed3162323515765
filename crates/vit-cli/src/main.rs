//! `vit`: the command line of the vit-burn model zoo.

#![warn(missing_docs)]

mod backend;
mod convert;
mod forward;
mod model_source;
mod models;
mod npy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vit_core::config_file::save_config;
use vit_core::presets::vit_preset;
use vit_core::vit_import::load_vit_config;

use backend::{BackendKind, run_on};
use convert::Convert;
use forward::Forward;
use model_source::ModelSource;

/// The vit-burn model zoo: Vision Transformers on Burn.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Backend to run on (those compiled in; default: the first of cuda, wgpu, flex, ndarray).
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendKind>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every model preset: parameters, compute at the native size, input size.
    Models,
    /// Print a preset's config as JSON (or write it with --output), to edit and pass back.
    Config {
        /// Preset name, e.g. vit_small_patch16_224 (see `vit models`).
        preset: String,
        /// Write the config to this file instead of printing it.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check a model config file and print what it builds.
    Check {
        /// A config file (JSON), e.g. configs/vit_tiny_patch16_224.json, or a saved model.json.
        config: PathBuf,
    },
    /// Run a model on a preprocessed float32 NCHW .npy tensor and write the logits as .npy.
    Forward {
        #[command(flatten)]
        source: ModelSource,
        /// Input tensor [batch, channels, height, width] (.npy, float32), already normalised.
        #[arg(long, short)]
        input: PathBuf,
        /// Output .npy file: logits [batch, classes] (or features with --features).
        #[arg(long, short)]
        output: PathBuf,
        /// Write the token features [batch, tokens, dim] after the final norm instead.
        #[arg(long)]
        features: bool,
        /// Images per forward pass.
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
    },
    /// Convert a timm folder or checkpoint into a model folder of ours (Burnpack + model.json).
    Convert {
        #[command(flatten)]
        source: ModelSource,
        /// Folder to write (created if needed).
        #[arg(long, short)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let backend = cli.backend.unwrap_or_else(BackendKind::preferred);
    match cli.command {
        Command::Models => {
            print!("{}", models::render(&run_on(backend, models::ListModels)));
        }
        Command::Config { preset, output } => {
            let config = vit_preset(&preset)?;
            match output {
                Some(path) => {
                    save_config(&config, &path)?;
                    eprintln!("wrote {}", path.display());
                }
                None => println!("{}", serde_json::to_string_pretty(&config)?),
            }
        }
        Command::Check { config } => {
            let config = load_vit_config(&config)?;
            config.validate()?;
            println!(
                "ok: ViT {}x{} patch {}, dim {}, depth {}, heads {}, {} classes, {:.2} GMACs",
                config.img_size[0],
                config.img_size[1],
                config.patch_size,
                config.embed_dim,
                config.depth,
                config.num_heads,
                config.num_classes,
                config.macs() as f64 / 1e9
            );
        }
        Command::Forward {
            source,
            input,
            output,
            features,
            batch_size,
        } => {
            let job = Forward {
                source,
                input,
                output,
                features,
                batch_size,
            };
            eprintln!("{}", run_on(backend, job)?);
        }
        Command::Convert { source, output } => {
            eprintln!("{}", run_on(backend, Convert { source, output })?);
        }
    }
    Ok(())
}
