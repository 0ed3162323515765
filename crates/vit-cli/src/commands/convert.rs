//! `vit convert`: a timm folder or checkpoint → a folder of ours (Burnpack weights + model.json).

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use vit_core::model::ModelConfig;
use vit_core::precision::Precision;
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
    /// Float type of the written weights: `f32` (the default), or `bf16`/`f16` for a copy half
    /// the size, for inference (loading reads it back as f32; f16 clips values beyond ±65504).
    #[arg(long, default_value_t = Precision::F32, value_name = "f32|bf16|f16")]
    pub dtype: Precision,
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
            "{} tensors from {} -> {}/{{{files}}} ({} at {:?}, {} classes, {} weights)",
            vit.report.loaded,
            vit.source,
            self.output.display(),
            vit.config.family(),
            vit.config.input_size(),
            vit.config.num_classes(),
            self.dtype,
        );
        match self.format {
            ConvertFormat::Burn => vit.save_as(&self.output, self.dtype)?,
            ConvertFormat::Timm => vit.save_timm_as(&self.output, self.dtype)?,
        }
        Ok(summary)
    }
}
