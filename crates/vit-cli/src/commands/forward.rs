//! `vit forward`: run a model on a preprocessed NCHW float32 `.npy` tensor, write `.npy` outputs.

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use burn::tensor::{Tensor, TensorData};
use vit_core::atomic_file::write_atomic;
use vit_core::model::{ModelConfig, VisionModel};

use crate::backend::BackendJob;
use crate::model_source::ModelSource;
use crate::precision_arg::PrecisionArg;
use vit_core::npy;

/// The `forward` command's arguments.
#[derive(Args, Debug)]
pub struct Forward {
    /// The model to run.
    #[command(flatten)]
    pub source: ModelSource,
    /// Input `[batch, channels, height, width]` (or one image `[channels, height, width]`).
    #[arg(long, short)]
    pub input: PathBuf,
    /// Where the output goes (`-`: standard output; a symlink is followed, a FIFO or device
    /// written to, never replaced).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Write the features (ViT/DeiT tokens `[batch, tokens, dim]`, Swin's map
    /// `[batch, height, width, dim]`) instead of the logits.
    #[arg(long)]
    pub features: bool,
    /// Images per forward pass (at least 1).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// Autocast precision.
    #[command(flatten)]
    pub precision: PrecisionArg,
}

/// A preprocessed float32 `[batch, channels, height, width]` `.npy` array (one image
/// `[channels, height, width]` is a batch of one) and its dims; an empty batch is an error.
pub fn read_image_batch(path: &std::path::Path) -> Result<(npy::Array, [usize; 4]), String> {
    let mut input = npy::read(path)?;
    if input.shape.len() == 3 {
        input.shape.insert(0, 1);
    }
    let dims: [usize; 4] = input.shape.clone().try_into().map_err(|_| {
        format!(
            "{}: expected a [batch, channels, height, width] array, found shape {:?}",
            path.display(),
            input.shape
        )
    })?;
    if dims[0] == 0 {
        return Err(format!(
            "{}: the array holds no images (shape {:?}): nothing to run",
            path.display(),
            input.shape
        ));
    }
    Ok((input, dims))
}

impl BackendJob for Forward {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let _autocast = self.precision.enter::<B>(&device)?;
        let (input, dims) = read_image_batch(&self.input)?;
        let non_finite = input.data.iter().filter(|v| !v.is_finite()).count();
        if non_finite > 0 {
            eprintln!(
                "warning: {}: {non_finite} of {} values are NaN or infinite; the outputs they \
                 reach will be too",
                self.input.display(),
                input.data.len()
            );
        }
        let mut vit = self.source.load::<B>(&device)?;
        let [_, _, h, w] = dims;
        let [_, eh, ew] = vit.config.input_size();
        if [h, w] != [eh, ew] && vit.model.enable_dynamic_img_size() {
            eprintln!(
                "note: input is {h}x{w}, the model was built for {eh}x{ew}: resampling the \
                 position embedding (dynamic image size)"
            );
        }
        vit.model
            .check_input(dims)
            .map_err(|e| format!("{}: {e}", self.input.display()))?;

        let images = Tensor::<B, 4>::from_data(TensorData::new(input.data, dims), &device);
        let mut outputs = Vec::new();
        let batch_size = usize::try_from(self.batch_size).unwrap_or(usize::MAX);
        for start in (0..dims[0]).step_by(batch_size) {
            let end = (start + batch_size).min(dims[0]);
            let chunk = images.clone().narrow(0, start, end - start);
            let values = if self.features {
                vit.model.forward_features(chunk)
            } else {
                vit.model.forward(chunk).into_data()
            };
            outputs.push(values);
        }
        let mut shape = outputs[0].shape.to_vec();
        shape[0] = dims[0];
        let mut data = Vec::with_capacity(shape.iter().product());
        for out in outputs {
            data.extend(
                out.convert::<f32>()
                    .into_vec::<f32>()
                    .map_err(|e| format!("{e:?}"))?,
            );
        }
        let what = if self.features { "features" } else { "logits" };
        let array = npy::Array { shape, data };
        write_atomic(&self.output, &npy::encode(&array))
            .map_err(|e| format!("{}: cannot write: {e}", self.output.display()))?;
        // (This report goes to standard error, so `-o -` leaves standard output to the array.)
        let to = if self.output == std::path::Path::new("-") {
            "standard output".to_string()
        } else {
            self.output.display().to_string()
        };
        Ok(format!("wrote {what} {:?} to {to}", array.shape))
    }
}
