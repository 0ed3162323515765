//! `vit`: the command line of the vit-burn model zoo.

#![warn(missing_docs)]

mod backend;
mod bench;
mod convert;
mod forward;
mod image_input;
mod model_source;
mod models;
mod npy;
mod predict;
mod train;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vit_core::weights::config_file::write_atomic;
use vit_variants::zoo::{ZooConfig, zoo_preset};

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
    /// Classify images (PNG/JPEG): top classes with probabilities.
    Predict {
        #[command(flatten)]
        source: ModelSource,
        /// Image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Classes shown per image.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Attention rollout and the last layer's class-token attention per head, over the image
    /// (ViT, DeiT): writes <image>_rollout.png and <image>_heads.png.
    Attention {
        #[command(flatten)]
        source: ModelSource,
        /// Image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, short, default_value = ".")]
        output: PathBuf,
    },
    /// Cosine similarity of the position embeddings of the patches, as the ViT paper draws it
    /// (ViT, DeiT).
    PosEmbed {
        #[command(flatten)]
        source: ModelSource,
        /// Output PNG.
        #[arg(long, short, default_value = "pos_embed.png")]
        output: PathBuf,
    },
    /// Mean attention distance per head and layer averaged over images, as the ViT paper plots
    /// it (ViT, DeiT): writes attention_distance.png and .csv.
    AttentionDistance {
        #[command(flatten)]
        source: ModelSource,
        /// Image files.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, short, default_value = ".")]
        output: PathBuf,
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
    /// Train a model (default: a small ViT on the embedded digits, on this machine's CPU).
    Train(train::TrainArgs),
    /// Time one model (or a matmul) on this backend and print one JSON line (see `cargo xtask bench`).
    Bench {
        /// Preset name, or `vit_32px` (the 32×32 training-step model).
        #[arg(long, conflicts_with = "matmul")]
        model: Option<String>,
        /// Images per step.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Time one training step (forward, backward, AdamW) instead of inference.
        #[arg(long)]
        train: bool,
        /// Time an `[n, n] × [n, n]` float32 matmul instead: the backend's ceiling.
        #[arg(long)]
        matmul: Option<usize>,
        /// Untimed runs first.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Timed runs (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
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
            // ViT configs are written plain (as configs/vit_*.json); DeiT/Swin with their family.
            let text = match zoo_preset(&preset)? {
                ZooConfig::Vit(config) => serde_json::to_string_pretty(&config)?,
                other => serde_json::to_string_pretty(&other)?,
            };
            match output {
                Some(path) => {
                    write_atomic(&path, format!("{text}\n").as_bytes())
                        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => println!("{text}"),
            }
        }
        Command::Check { config } => {
            let config = ZooConfig::load_file(&config)?;
            config.validate()?;
            let [c, h, w] = config.input_size();
            println!(
                "ok: {} at {c}x{h}x{w}, {} classes, {:.2} GMACs",
                config.family(),
                config.num_classes(),
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
        Command::Predict {
            source,
            images,
            top,
            json,
        } => {
            let job = predict::Predict {
                source,
                images,
                top,
                json,
            };
            println!("{}", run_on(backend, job)?);
        }
        Command::Attention {
            source,
            images,
            output,
        } => {
            let job = views::AttentionView {
                source,
                images,
                output,
            };
            eprintln!("{}", run_on(backend, job)?);
        }
        Command::PosEmbed { source, output } => {
            eprintln!(
                "{}",
                run_on(backend, views::PosEmbedView { source, output })?
            );
        }
        Command::AttentionDistance {
            source,
            images,
            output,
        } => {
            let job = views::DistanceView {
                source,
                images,
                output,
            };
            eprintln!("{}", run_on(backend, job)?);
        }
        Command::Train(args) => {
            println!("{}", run_on(backend, train::TrainJob(args))?);
        }
        Command::Bench {
            model,
            batch,
            train,
            matmul,
            warmup,
            runs,
        } => {
            let target = match (model, matmul) {
                (_, Some(n)) => bench::BenchTarget::Matmul { n },
                (Some(name), None) => bench::BenchTarget::Model { name, batch, train },
                (None, None) => return Err("bench needs --model NAME or --matmul N".into()),
            };
            let job = bench::Bench {
                target,
                warmup,
                runs,
            };
            println!("{}", run_on(backend, job)?);
        }
        Command::Convert { source, output } => {
            eprintln!("{}", run_on(backend, Convert { source, output })?);
        }
    }
    Ok(())
}
