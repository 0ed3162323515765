//! `vit convert`: a timm folder or checkpoint → a folder of ours (Burnpack weights + model.json).

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use vit_core::model::ModelConfig;
use vit_core::weights::model_folder::{MODEL_CARD_FILE, WEIGHTS_FILE};

use crate::backend::BackendJob;
use crate::model_source::ModelSource;

/// The `convert` command's arguments.
#[derive(Args, Debug)]
pub struct Convert {
    /// The model to convert.
    #[command(flatten)]
    pub source: ModelSource,
    /// The folder to write.
    #[arg(long, short)]
    pub output: PathBuf,
}

impl BackendJob for Convert {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let vit = self.source.load::<B>(&device)?;
        let summary = format!(
            "{} tensors from {} -> {}/{{{WEIGHTS_FILE}, {MODEL_CARD_FILE}}} ({} at {:?}, {} classes)",
            vit.report.loaded,
            vit.source,
            self.output.display(),
            vit.config.family(),
            vit.config.input_size(),
            vit.config.num_classes(),
        );
        vit.save(&self.output)?;
        Ok(summary)
    }
}
