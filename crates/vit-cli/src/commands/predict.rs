//! `vit predict`: the top classes of images, with their probabilities.

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use burn::tensor::activation::softmax;
use serde_json::json;
use vit_core::model::{ModelConfig, VisionModel};
use vit_core::preprocess::imagenet::IMAGENET_CLASSES;

use crate::backend::BackendJob;
use crate::image_input::{batch, load_image};
use crate::model_source::ModelSource;

/// The `predict` command's arguments.
#[derive(Args, Debug)]
pub struct Predict {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// Image files (PNG, JPEG).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Classes to show per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Class names: the model's own, else ImageNet-1k's for 1000 classes, else the indices.
pub fn class_names(label_names: Option<&[String]>, classes: usize) -> Vec<String> {
    match label_names {
        Some(names) if names.len() == classes => names.to_vec(),
        _ if classes == IMAGENET_CLASSES.len() => {
            IMAGENET_CLASSES.iter().map(|s| s.to_string()).collect()
        }
        _ => (0..classes).map(|i| i.to_string()).collect(),
    }
}

impl BackendJob for Predict {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let model = self.source.load::<B>(&device)?;
        let classes = model.config.num_classes();
        if classes == 0 {
            return Err(
                "the model has no classifier head (num_classes = 0): nothing to predict".into(),
            );
        }
        let names = class_names(model.label_names.as_deref(), classes);
        let [channels, _, _] = model.config.input_size();
        let inputs = self
            .images
            .iter()
            .map(|path| load_image(path, &model))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = Vec::new();
        for (paths, chunk) in self.images.chunks(16).zip(inputs.chunks(16)) {
            let refs: Vec<_> = chunk.iter().collect();
            let probs = softmax(model.model.forward(batch::<B>(&refs, channels, &device)), 1);
            let probs: Vec<f32> = probs
                .into_data()
                .convert::<f32>()
                .into_vec()
                .map_err(|e| format!("{e:?}"))?;
            for (path, row) in paths.iter().zip(probs.chunks(classes)) {
                let mut order: Vec<usize> = (0..classes).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
                order.truncate(self.top.max(1));
                results.push((
                    path.clone(),
                    order.into_iter().map(|c| (c, row[c])).collect::<Vec<_>>(),
                ));
            }
        }
        if self.json {
            let value: Vec<_> = results
                .iter()
                .map(|(path, top)| {
                    json!({
                        "image": path.display().to_string(),
                        "top": top.iter().map(|&(c, p)| json!({"class": c, "label": names[c], "probability": p})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            return Ok(serde_json::to_string_pretty(&value)?);
        }
        let mut text = String::new();
        for (path, top) in &results {
            text += &format!("{}\n", path.display());
            for &(c, p) in top {
                let name = &names[c];
                let index = if *name == c.to_string() {
                    String::new()
                } else {
                    format!(" ({c})")
                };
                text += &format!("  {:>7.3} %  {name}{index}\n", p * 100.0);
            }
        }
        Ok(text.trim_end().to_string())
    }
}
