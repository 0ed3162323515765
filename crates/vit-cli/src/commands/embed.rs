//! `vit embed`: pooled, pre-logits image features — what CLIP, SigLIP and DINOv2 are used for —
//! for images (preprocessed as `vit predict` does, from the model's pretrained cfg) or for a
//! preprocessed `.npy` batch, written as `.npy` or JSON Lines with the file name per row.

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use clap::{Args, ValueEnum};
use serde_json::json;
use vit_core::VitBackend;
use vit_core::atomic_file::write_atomic;
use vit_core::model::{ModelConfig, VisionModel};

use crate::backend::BackendJob;
use crate::commands::forward::read_image_batch;
use crate::commands::predict::expand_images;
use crate::image_input::{batch, load_image};
use crate::model_source::ModelSource;
use crate::precision_arg::PrecisionArg;
use vit_core::npy;

/// How the embeddings are written.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedFormat {
    /// A float32 `[rows, dim]` `.npy` array (rows in input order; file names on stderr).
    Npy,
    /// One JSON object per line: `{"file": …, "embedding": […]}`.
    Jsonl,
}

/// The `embed` command's arguments.
#[derive(Args, Debug)]
pub struct Embed {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// Images (PNG, JPEG), folders of them (searched recursively, in sorted order), or one
    /// preprocessed float32 `[batch, channels, height, width]` `.npy` array.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where the embeddings go (`-` or left out: JSON Lines on standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Output format; by default from the output's extension (`.npy`, else JSON Lines).
    #[arg(long, value_enum)]
    pub format: Option<EmbedFormat>,
    /// Scale every embedding to unit L2 norm (cosine similarity becomes a dot product).
    #[arg(long)]
    pub normalize: bool,
    /// Images per forward pass (at least 1).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Autocast precision.
    #[command(flatten)]
    pub precision: PrecisionArg,
}

impl Embed {
    fn format(&self) -> EmbedFormat {
        self.format.unwrap_or(match &self.output {
            Some(path)
                if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("npy")) =>
            {
                EmbedFormat::Npy
            }
            _ => EmbedFormat::Jsonl,
        })
    }

    /// The one `.npy` input, when the inputs are a preprocessed array rather than images.
    fn npy_input(&self) -> Result<Option<&Path>, String> {
        let is_npy = |p: &PathBuf| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        match (
            self.inputs.iter().filter(|p| is_npy(p)).count(),
            self.inputs.len(),
        ) {
            (0, _) => Ok(None),
            (1, 1) => Ok(Some(&self.inputs[0])),
            _ => Err("a .npy input is a whole batch: give it alone, not with other inputs".into()),
        }
    }
}

impl BackendJob for Embed {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let _autocast = self.precision.enter::<B>(&device)?;
        let format = self.format();
        if format == EmbedFormat::Npy && self.output.as_deref().is_none_or(|p| p == Path::new("-"))
        {
            return Err(
                "--format npy needs --output FILE (a binary array is not for a terminal)".into(),
            );
        }
        let model = self.source.load::<B>(&device)?;
        let [channels, _, _] = model.config.input_size();
        let batch_size = usize::try_from(self.batch_size).unwrap_or(usize::MAX);
        // (row names, images) in input order; images that do not load fail the command with
        // every reason, after nothing is written.
        let (names, images): (Vec<String>, Tensor<B, 4>) = match self.npy_input()? {
            Some(path) => {
                let (array, dims) = read_image_batch(path)?;
                model
                    .model
                    .check_input(dims)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let names = (0..dims[0])
                    .map(|i| format!("{}[{i}]", path.display()))
                    .collect();
                let data = TensorData::new(array.data, dims);
                (names, Tensor::from_data(data, &device))
            }
            None => {
                let mut names = Vec::new();
                let mut inputs = Vec::new();
                let mut failed = Vec::new();
                for path in expand_images(&self.inputs)? {
                    match load_image(&path, &model) {
                        Ok(input) => {
                            names.push(path.display().to_string());
                            inputs.push(input);
                        }
                        Err(e) => failed.push(e),
                    }
                }
                if !failed.is_empty() {
                    return Err(format!(
                        "{} of {} images could not be read (nothing written):\n  {}",
                        failed.len(),
                        failed.len() + names.len(),
                        failed.join("\n  ")
                    )
                    .into());
                }
                let refs: Vec<_> = inputs.iter().collect();
                (names, batch::<B>(&refs, channels, &device))
            }
        };
        let rows = names.len();
        let mut data = Vec::new();
        let mut dim = 0;
        for start in (0..rows).step_by(batch_size) {
            let end = (start + batch_size).min(rows);
            let chunk = images.clone().narrow(0, start, end - start);
            let out = model.model.image_embeddings(chunk, self.normalize);
            dim = out.dims()[1];
            data.extend(
                out.into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .map_err(|e| format!("{e:?}"))?,
            );
        }
        let bytes = match format {
            EmbedFormat::Npy => npy::encode(&npy::Array {
                shape: vec![rows, dim],
                data,
            }),
            EmbedFormat::Jsonl => {
                let mut text = String::new();
                for (name, row) in names.iter().zip(data.chunks(dim.max(1))) {
                    text += &json!({"file": name, "embedding": row}).to_string();
                    text.push('\n');
                }
                text.into_bytes()
            }
        };
        let what = format!(
            "{rows} embeddings of {dim} values{}",
            if self.normalize {
                " (L2-normalised)"
            } else {
                ""
            }
        );
        match &self.output {
            Some(path) if path != Path::new("-") => {
                write_atomic(path, &bytes)
                    .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
                if format == EmbedFormat::Npy {
                    for (i, name) in names.iter().enumerate() {
                        eprintln!("row {i}: {name}");
                    }
                }
                Ok(format!("wrote {what} to {}", path.display()))
            }
            _ => {
                use std::io::Write;
                std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| format!("standard output: {e}"))?;
                Ok(format!("wrote {what} to standard output"))
            }
        }
    }
}
