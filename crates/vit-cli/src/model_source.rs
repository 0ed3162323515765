//! The `--model` argument shared by the commands that load weights.

use std::path::PathBuf;
use vit_core::VitBackend;

use clap::Args;
use vit_core::model::ModelConfig;
use vit_core::weights::timm_folder::TimmConfig;
use vit_variants::zoo::{PretrainedModel, ZooConfig};

/// Where a model's weights and architecture come from.
#[derive(Args, Debug, Clone)]
pub struct ModelSource {
    /// A timm folder (config.json + model.safetensors / pytorch_model.bin) of a ViT, DeiT or
    /// Swin, a folder written by `vit convert`, a bare .safetensors / .pth / .bin / .bpk weights
    /// file, a hub id (`timm/NAME`, `hf-hub:org/name[@rev]`) or a timm name
    /// (`vit_small_patch16_224.augreg_in21k_ft_in1k`; see `vit models --pretrained`).
    #[arg(long, short)]
    pub model: PathBuf,
    /// A bare architecture in --model means timm's default pretrained weights for it (as
    /// `timm.create_model(name, pretrained=True)`).
    #[arg(long)]
    pub pretrained: bool,
    /// For a bare weights file: the preset it was trained as (see `vit models`).
    #[arg(long, conflicts_with = "config")]
    pub preset: Option<String>,
    /// For a bare weights file: a model config file (configs/*.json or a saved model.json).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Classes of the head; another count than the weights' gives a fresh head (fine-tuning).
    #[arg(long)]
    pub num_classes: Option<usize>,
}

impl ModelSource {
    /// Loads the model on `device`, telling the user on stderr what the load adapted.
    pub fn load<B: VitBackend>(
        &self,
        device: &B::Device,
    ) -> Result<PretrainedModel<B>, Box<dyn std::error::Error>> {
        let base = match (&self.preset, &self.config) {
            (Some(name), _) => Some(ZooConfig::preset(name)?),
            (None, Some(path)) => Some(ZooConfig::load_file(path)?),
            (None, None) => None,
        };
        let location =
            vit_variants::model_location(&self.model, self.pretrained && base.is_none())?;
        let mut vit = PretrainedModel::<B>::load(&location, base, self.num_classes, device)?;
        // A timm config.json given for a bare checkpoint also says how to preprocess.
        if let Some(path) = &self.config
            && let Ok(timm) = TimmConfig::read(path)
        {
            vit.pretrained_cfg = timm.pretrained_cfg;
            if self.num_classes.is_none_or(|n| Some(n) == timm.num_classes) {
                vit.label_names = timm.label_names;
            }
        }
        let report = &vit.report;
        if !report.fresh.is_empty() {
            eprintln!(
                "note: {} freshly initialised ({} classes; the weights have another head)",
                report.fresh.join(", "),
                vit.config.num_classes()
            );
        }
        for what in &report.adapted {
            eprintln!("note: {what}");
        }
        if !report.ignored.is_empty() {
            eprintln!("note: not used: {}", report.ignored.join(", "));
        }
        Ok(vit)
    }
}
