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
    /// `burn`: our folder (model.bpk + model.json), the fastest to load here. `timm`: a timm /
    /// Hugging Face hub folder (config.json + model.safetensors with timm's keys) that Python's
    /// `timm.create_model("local-dir:FOLDER", pretrained=True)` loads, to use, share or push.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Burn)]
    pub format: ConvertFormat,
}

/// `vit convert --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertFormat {
    /// model.bpk + model.json.
    Burn,
    /// config.json + model.safetensors, as timm and the hub lay them out.
    Timm,
}

impl BackendJob for Convert {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let vit = self.source.load::<B>(&device)?;
        let files = match self.format {
            ConvertFormat::Burn => format!("{WEIGHTS_FILE}, {MODEL_CARD_FILE}"),
            ConvertFormat::Timm => "model.safetensors, config.json".into(),
        };
        let summary = format!(
            "{} tensors from {} -> {}/{{{files}}} ({} at {:?}, {} classes)",
            vit.report.loaded,
            vit.source,
            self.output.display(),
            vit.config.family(),
            vit.config.input_size(),
            vit.config.num_classes(),
        );
        match self.format {
            ConvertFormat::Burn => vit.save(&self.output)?,
            ConvertFormat::Timm => vit.save_timm(&self.output)?,
        }
        Ok(summary)
    }
}
