//! Images from disk as a model sees them: decoded (PNG, JPEG), preprocessed by the model's
//! `pretrained_cfg` with timm's evaluation transform (resize, centre crop, normalise), and the
//! cropped picture kept for drawing overlays on.

use std::path::Path;
use vit_core::VitBackend;

use burn::tensor::{Tensor, TensorData};
use vit_core::model::ModelConfig;
use vit_variants::zoo::PretrainedModel;

/// One preprocessed image.
pub struct ModelInput {
    /// Normalised `[channels, height, width]`.
    pub pixels: Vec<f32>,
    /// The crop the model sees, as 8-bit RGB `[height, width, 3]` (for overlays).
    pub rgb: Vec<u8>,
    /// `[height, width]` of both.
    pub size: [usize; 2],
}

/// Decodes `path` and preprocesses it for `model` (greyscale models get the luma).
pub fn load_image<B: VitBackend>(
    path: &Path,
    model: &PretrainedModel<B>,
) -> Result<ModelInput, String> {
    let [channels, h, w] = model.config.input_size();
    if channels != 1 && channels != 3 {
        return Err(format!(
            "the model takes {channels}-channel inputs; images are read as greyscale (1) or RGB (3)"
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read the image: {e}", path.display()))?;
    let decoded = vit_core::preprocess::decode_image(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // A greyscale model sees the luma, replicated so the RGB transform applies unchanged.
    let decoded = if channels == 1 {
        image::DynamicImage::ImageLuma8(decoded.to_luma8()).to_rgb8()
    } else {
        decoded.to_rgb8()
    };
    let (iw, ih) = decoded.dimensions();
    let cfg = &model.pretrained_cfg;
    let transform = cfg.eval_transform([h, w]);
    let rgb_pixels = transform
        .apply(decoded.as_raw(), [ih as usize, iw as usize])
        .map_err(|e| format!("{}: pretrained_cfg.{e}", path.display()))?;
    let plane = h * w;
    // The crop as the model sees it, un-normalised back to 8 bits.
    let rgb = (0..plane)
        .flat_map(|p| {
            let transform = &transform;
            let rgb_pixels = &rgb_pixels;
            (0..3).map(move |c| {
                let v = rgb_pixels[c * plane + p] as f64 * transform.std[c] + transform.mean[c];
                (v * 255.0).round().clamp(0.0, 255.0) as u8
            })
        })
        .collect();
    let pixels = if channels == 1 {
        rgb_pixels[..plane].to_vec()
    } else {
        rgb_pixels
    };
    Ok(ModelInput {
        pixels,
        rgb,
        size: [h, w],
    })
}

/// Stacks inputs into a batch `[n, channels, height, width]`.
pub fn batch<B: VitBackend>(
    inputs: &[&ModelInput],
    channels: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let [h, w] = inputs[0].size;
    let data: Vec<f32> = inputs
        .iter()
        .flat_map(|i| i.pixels.iter().copied())
        .collect();
    Tensor::from_data(
        TensorData::new(data, [inputs.len(), channels, h, w]),
        device,
    )
}
