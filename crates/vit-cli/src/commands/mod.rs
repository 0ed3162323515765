//! The subcommands of `vit`, one file each; every subcommand's arguments are a
//! `#[derive(Args)]` struct that is also the job it runs.

pub mod bench;
pub mod config;
pub mod convert;
pub mod embed;
pub mod filters;
pub mod forward;
pub mod models;
pub mod orchestrator;
pub mod predict;
pub mod train;
pub mod views;

use clap::Subcommand;

use crate::backend::{BackendKind, run_on};

/// A `vit` subcommand with its arguments.
#[derive(Subcommand)]
pub enum Command {
    /// List the catalogue: every architecture (parameters, compute at the native size, input
    /// size), or with --pretrained every pretrained tag; filter by --family and a name pattern.
    Models(models::ListModels),
    /// Print a preset's config as JSON (or write it with --output), to edit and pass back.
    Config(config::ConfigArgs),
    /// Check a model config file and print what it builds.
    Check(config::CheckArgs),
    /// Classify images (PNG/JPEG): top classes with probabilities.
    Predict(predict::Predict),
    /// Attention rollout and the last layer's class-token attention per head, over the image
    /// (ViT, DeiT): writes <image>_rollout.png and <image>_heads.png.
    Attention(views::AttentionView),
    /// Cosine similarity of the position embeddings of the patches, as the ViT paper draws it
    /// (ViT, DeiT).
    PosEmbed(views::PosEmbedView),
    /// Mean attention distance per head and layer averaged over images, as the ViT paper plots
    /// it (ViT, DeiT): writes attention_distance.png and .csv.
    AttentionDistance(views::DistanceView),
    /// Principal components of the linear patch-embedding filters, as the ViT paper draws them
    /// (its Figure 7, left): writes filters_pca.png, filters_variance.png, .npy and .csv.
    Filters(filters::FiltersView),
    /// Run a model on a preprocessed float32 NCHW .npy tensor and write the logits as .npy.
    Forward(forward::Forward),
    /// Image embeddings: the pooled, pre-logits features (CLIP, SigLIP, DINOv2…) of images or a
    /// preprocessed .npy batch, optionally L2-normalised, as .npy or JSON Lines.
    Embed(embed::Embed),
    /// Train a model (default: a small ViT on the embedded digits, on this machine's CPU).
    Train(train::TrainArgs),
    /// Time one model (or a matmul) on this backend and print one JSON line (see `cargo xtask bench`).
    Bench(bench::Bench),
    /// Convert a timm folder or checkpoint into a model folder of ours (Burnpack + model.json).
    Convert(convert::Convert),
    /// Serve the rendezvous of a multi-node training run (`vit train --nodes N …` on each node).
    Orchestrator(orchestrator::Orchestrator),
}

impl Command {
    /// Runs the command on `backend`; results go to standard output, progress to standard error.
    pub fn run(self, backend: BackendKind) -> Result<(), Box<dyn std::error::Error>> {
        match self {
            Self::Models(job) if job.pretrained => print!("{}", models::render_pretrained(&job)),
            Self::Models(job) => print!("{}", models::render(&run_on(backend, job))),
            Self::Config(args) => args.run()?,
            Self::Check(args) => args.run()?,
            Self::Predict(job) => println!("{}", run_on(backend, job)?),
            Self::Attention(job) => eprintln!("{}", run_on(backend, job)?),
            Self::PosEmbed(job) => eprintln!("{}", run_on(backend, job)?),
            Self::AttentionDistance(job) => eprintln!("{}", run_on(backend, job)?),
            Self::Filters(job) => eprintln!("{}", run_on(backend, job)?),
            Self::Forward(job) => eprintln!("{}", run_on(backend, job)?),
            Self::Embed(job) => eprintln!("{}", run_on(backend, job)?),
            Self::Train(args) => println!("{}", run_on(backend, train::TrainJob(args))?),
            Self::Bench(job) => println!("{}", run_on(backend, job)?),
            Self::Convert(job) => eprintln!("{}", run_on(backend, job)?),
            Self::Orchestrator(args) => args.run()?,
        }
        Ok(())
    }
}
