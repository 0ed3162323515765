//! The whole zoo behind one type: any ViT, DeiT or Swin — built from a preset or a config file,
//! loaded from a timm folder, a checkpoint or a saved folder, run, and saved.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vit_core::checkpoint::{Checkpoint, CheckpointFormat};
use vit_core::config_file::config_from_json;
use vit_core::error::{Result, VitError};
use vit_core::init::timm_linear;
use vit_core::model_folder::{
    MODEL_CARD_FILE, ModelCard, is_burnpack, load_weights, save_model_folder, weights_path,
};
use vit_core::param_count::count_params;
use vit_core::presets::vit_presets;
use vit_core::state_dict::LoadReport;
use vit_core::timm_folder::{PretrainedCfg, TimmConfig, TimmFolder};
use vit_core::vit_import::{apply_timm_vit_args, load_vit_checkpoint};
use vit_core::{VisionTransformer, VisionTransformerConfig};

use crate::deit::{DeitConfig, DistilledVisionTransformer};
use crate::import::{apply_timm_swin_args, load_deit_checkpoint, load_swin_checkpoint};
use crate::presets::{VariantPreset, variant_presets};
use crate::swin::{SwinTransformer, SwinTransformerConfig};

/// The config of any zoo model; as JSON `{"family": "vit" | "deit" | "swin", "config": {…}}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "family", content = "config", rename_all = "lowercase")]
pub enum ZooConfig {
    /// A ViT (also DeiT without distillation and DeiT III).
    Vit(VisionTransformerConfig),
    /// A distilled DeiT.
    Deit(DeitConfig),
    /// A Swin Transformer.
    Swin(SwinTransformerConfig),
}

/// Any zoo model.
// A model is built once and moved rarely; boxing would need `Module` for `Box`, which Burn lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ZooModel<B: Backend> {
    /// A ViT.
    Vit(VisionTransformer<B>),
    /// A distilled DeiT.
    Deit(DistilledVisionTransformer<B>),
    /// A Swin Transformer.
    Swin(SwinTransformer<B>),
}

/// A named preset with the preprocessing its weights expect.
#[derive(Debug, Clone)]
pub struct ZooPreset {
    /// timm's architecture name.
    pub name: &'static str,
    /// The configuration.
    pub config: ZooConfig,
}

/// Every preset of the zoo: ViT, DeiT, DeiT III and Swin.
pub fn zoo_presets() -> Vec<ZooPreset> {
    let mut all: Vec<ZooPreset> = vit_presets()
        .into_iter()
        .map(|p| ZooPreset {
            name: p.name,
            config: ZooConfig::Vit(p.config),
        })
        .collect();
    all.extend(variant_presets().into_iter().map(|p| {
        let name = p.name();
        let config = match p {
            VariantPreset::Vit(_, c) => ZooConfig::Vit(c),
            VariantPreset::Deit(_, c) => ZooConfig::Deit(c),
            VariantPreset::Swin(_, c) => ZooConfig::Swin(c),
        };
        ZooPreset { name, config }
    }));
    all
}

/// Looks a preset up by name; the error lists every name.
pub fn zoo_preset(name: &str) -> Result<ZooConfig> {
    let all = zoo_presets();
    all.iter()
        .find(|p| p.name == name)
        .map(|p| p.config.clone())
        .ok_or_else(|| VitError::UnknownPreset {
            name: name.to_string(),
            available: all.iter().map(|p| p.name.to_string()).collect(),
        })
}

impl ZooConfig {
    /// `vit`, `deit` or `swin`.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Vit(_) => "vit",
            Self::Deit(_) => "deit",
            Self::Swin(_) => "swin",
        }
    }

    /// Classifier outputs.
    pub fn num_classes(&self) -> usize {
        match self {
            Self::Vit(c) => c.num_classes,
            Self::Deit(c) => c.vit.num_classes,
            Self::Swin(c) => c.num_classes,
        }
    }

    /// Sets the classifier outputs.
    pub fn set_num_classes(&mut self, n: usize) {
        match self {
            Self::Vit(c) => c.num_classes = n,
            Self::Deit(c) => c.vit.num_classes = n,
            Self::Swin(c) => c.num_classes = n,
        }
    }

    /// Input `[channels, height, width]` the model is built for.
    pub fn input_size(&self) -> [usize; 3] {
        let (c, [h, w]) = match self {
            Self::Vit(c) => (c.in_chans, c.img_size),
            Self::Deit(c) => (c.vit.in_chans, c.vit.img_size),
            Self::Swin(c) => (c.in_chans, c.img_size),
        };
        [c, h, w]
    }

    /// Checks the config, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Vit(c) => c.validate(),
            Self::Deit(c) => c.validate(),
            Self::Swin(c) => c.validate(),
        }
    }

    /// Builds the model (weights drawn lazily on first use).
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> Result<ZooModel<B>> {
        Ok(match self {
            Self::Vit(c) => ZooModel::Vit(c.try_init(device)?),
            Self::Deit(c) => ZooModel::Deit(c.try_init(device)?),
            Self::Swin(c) => ZooModel::Swin(c.try_init(device)?),
        })
    }

    /// Number of parameters, without drawing any weight (any backend gives the same count).
    pub fn num_params<B: Backend>(&self, device: &B::Device) -> Result<usize> {
        Ok(count_params(&self.try_init::<B>(device)?))
    }

    /// Reads a config file: `{"family": …, "config": …}` (also a saved `model.json`), a timm
    /// `config.json`, or a plain ViT config (as `configs/vit_*.json`).
    pub fn load_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| VitError::ConfigIo {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |e: serde_json::Error| VitError::ConfigParse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let root: Value = serde_json::from_str(&text).map_err(parse_error)?;
        if TimmConfig::is_timm_config(&root) {
            return config_from_timm(&TimmConfig::read(path)?);
        }
        match (root.get("family"), root.get("config")) {
            (Some(Value::String(family)), Some(config)) => Self::from_family(family, config, path),
            _ => Ok(Self::Vit(config_from_json(
                &text,
                path,
                &VisionTransformerConfig::new(),
            )?)),
        }
    }

    /// A family's config from JSON, strictly (unknown fields are errors naming them).
    fn from_family(family: &str, config: &Value, path: &Path) -> Result<Self> {
        let text = config.to_string();
        match family {
            "vit" => Ok(Self::Vit(config_from_json(
                &text,
                path,
                &VisionTransformerConfig::new(),
            )?)),
            "deit" => {
                let base = DeitConfig::new(VisionTransformerConfig::new());
                Ok(Self::Deit(config_from_json(&text, path, &base)?))
            }
            "swin" => Ok(Self::Swin(config_from_json(
                &text,
                path,
                &SwinTransformerConfig::new(),
            )?)),
            other => Err(VitError::InvalidConfig {
                field: "family".into(),
                reason: format!(
                    "`{other}` in {}: expected vit, deit or swin",
                    path.display()
                ),
            }),
        }
    }

    /// The preprocessing timm gives this family by default.
    pub fn default_pretrained_cfg(&self) -> PretrainedCfg {
        let [c, h, w] = self.input_size();
        let mut cfg = PretrainedCfg::vit_default(c, [h, w]);
        if !matches!(self, Self::Vit(_)) && c == 3 {
            cfg.mean = vec![0.485, 0.456, 0.406];
            cfg.std = vec![0.229, 0.224, 0.225];
        }
        cfg
    }
}

/// The config timm would build from a timm `config.json`, whatever the family.
pub fn config_from_timm(timm: &TimmConfig) -> Result<ZooConfig> {
    let base = zoo_preset(&timm.architecture).map_err(|_| VitError::UnknownArchitecture {
        name: timm.architecture.clone(),
        path: timm.path.clone(),
        available: zoo_presets().iter().map(|p| p.name.to_string()).collect(),
    })?;
    Ok(match base {
        ZooConfig::Vit(c) => ZooConfig::Vit(apply_timm_vit_args(&c, timm)?),
        ZooConfig::Deit(c) => ZooConfig::Deit(DeitConfig::new(apply_timm_vit_args(&c.vit, timm)?)),
        ZooConfig::Swin(c) => ZooConfig::Swin(apply_timm_swin_args(&c, timm)?),
    })
}

impl<B: Backend> ZooModel<B> {
    /// Checks an input shape against the model.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        match self {
            Self::Vit(m) => m.check_input(dims),
            Self::Deit(m) => m.vit.check_input(dims),
            Self::Swin(m) => m.check_input(dims),
        }
    }

    /// Inference logits `[batch, classes]` (DeiT: the mean of its two heads).
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        match self {
            Self::Vit(m) => m.forward(images),
            Self::Deit(m) => m.forward(images),
            Self::Swin(m) => m.forward(images),
        }
    }

    /// The features before pooling, as timm's `forward_features`: tokens `[batch, tokens, dim]`
    /// for ViT/DeiT, the token map `[batch, height, width, dim]` for Swin.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        match self {
            Self::Vit(m) => m.forward_features(images).into_data(),
            Self::Deit(m) => m.forward_features(images).into_data(),
            Self::Swin(m) => m.forward_features(images).into_data(),
        }
    }

    /// Lets a ViT/DeiT run inputs of other sizes (position embedding resampled); false for Swin.
    pub fn enable_dynamic_img_size(&mut self) -> bool {
        match self {
            Self::Vit(m) => m.dynamic_img_size = true,
            Self::Deit(m) => m.vit.dynamic_img_size = true,
            Self::Swin(_) => return false,
        }
        true
    }

    /// Replaces the classifier(s) by fresh ones of `n` outputs (none when `n = 0`).
    fn reset_classifier(&mut self, dim: usize, n: usize, device: &B::Device) {
        let fresh = || (n > 0).then(|| timm_linear(dim, n, true, device));
        match self {
            Self::Vit(m) => m.head = fresh(),
            Self::Deit(m) => {
                m.vit.head = fresh();
                m.head_dist = fresh();
            }
            Self::Swin(m) => m.head.fc = fresh(),
        }
    }
}

/// Any zoo model with everything that came with its weights.
#[derive(Debug)]
pub struct PretrainedModel<B: Backend> {
    /// The model, weights loaded.
    pub model: ZooModel<B>,
    /// Its config.
    pub config: ZooConfig,
    /// How inputs must be preprocessed.
    pub pretrained_cfg: PretrainedCfg,
    /// Class names, when known.
    pub label_names: Option<Vec<String>>,
    /// What the load adapted, left fresh or ignored.
    pub report: LoadReport,
    /// Where the weights came from.
    pub source: String,
}

impl<B: Backend> PretrainedModel<B> {
    /// Saves as a folder of ours (`model.json` + `model.bpk`), atomically.
    pub fn save(self, dir: &Path) -> Result<()> {
        let Value::Object(tagged) = serde_json::to_value(&self.config).expect("configs serialise")
        else {
            unreachable!("an adjacently tagged enum serialises to an object")
        };
        let card = ModelCard {
            family: self.config.family().into(),
            config: tagged.get("config").cloned().unwrap_or(Value::Null),
            pretrained_cfg: self.pretrained_cfg,
            label_names: self.label_names,
            source: Some(self.source),
        };
        save_model_folder(dir, &card, self.model)
    }
}

/// Loads any zoo model from `path`:
/// - a timm folder (`config.json` + weights): the architecture picks ViT, DeiT or Swin;
/// - a folder we saved (`model.json` + `model.bpk`);
/// - a bare `.safetensors`/`.pth`/`.bin` checkpoint or `.bpk` file, built from `base`.
///
/// `num_classes`, when it differs from the weights', gets fresh classifier(s) (fine-tuning).
pub fn load_model<B: Backend>(
    path: &Path,
    base: Option<ZooConfig>,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<PretrainedModel<B>> {
    if path.is_dir() {
        if base.is_some() {
            return Err(VitError::ModelFolder {
                path: path.to_path_buf(),
                message: "a model folder describes its own architecture; a preset or config \
                          file is only for bare weight files"
                    .into(),
            });
        }
        return if ModelCard::is_model_folder(path) {
            load_saved(path, num_classes, device)
        } else {
            let folder = TimmFolder::open(path)?;
            let mut config = config_from_timm(&folder.config)?;
            let mut label_names = folder.config.label_names.clone();
            if let Some(n) = num_classes.filter(|n| *n != config.num_classes()) {
                config.set_num_classes(n);
                label_names = None;
            }
            let (model, report) =
                load_checkpoint(&config, Checkpoint::read(&folder.weights)?, device)?;
            Ok(PretrainedModel {
                model,
                config,
                pretrained_cfg: folder.config.pretrained_cfg,
                label_names,
                report,
                source: format!("timm {} ({})", folder.config.architecture, path.display()),
            })
        };
    }
    let Some(mut config) = base else {
        return Err(VitError::Checkpoint {
            path: path.to_path_buf(),
            message: "a bare weights file does not say which model it is: give a preset or a \
                      config file (or the model folder it came in)"
                .into(),
        });
    };
    let pretrained_cfg = config.default_pretrained_cfg();
    let source = path.display().to_string();
    if is_burnpack(path) {
        let model = load_weights(config.try_init::<B>(device)?, path)?;
        let mut loaded = PretrainedModel {
            model,
            config,
            pretrained_cfg,
            label_names: None,
            report: LoadReport::default(),
            source,
        };
        loaded.set_num_classes(num_classes, device);
        return Ok(loaded);
    }
    CheckpointFormat::of(path)?;
    if let Some(n) = num_classes {
        config.set_num_classes(n);
    }
    let (model, report) = load_checkpoint(&config, Checkpoint::read(path)?, device)?;
    Ok(PretrainedModel {
        model,
        config,
        pretrained_cfg,
        label_names: None,
        report,
        source,
    })
}

/// Loads a timm-layout checkpoint into the model `config` describes.
pub fn load_checkpoint<B: Backend>(
    config: &ZooConfig,
    checkpoint: Checkpoint,
    device: &B::Device,
) -> Result<(ZooModel<B>, LoadReport)> {
    Ok(match config {
        ZooConfig::Vit(c) => {
            let (m, r) = load_vit_checkpoint(c, checkpoint, device)?;
            (ZooModel::Vit(m), r)
        }
        ZooConfig::Deit(c) => {
            let (m, r) = load_deit_checkpoint(c, checkpoint, device)?;
            (ZooModel::Deit(m), r)
        }
        ZooConfig::Swin(c) => {
            let (m, r) = load_swin_checkpoint(c, checkpoint, device)?;
            (ZooModel::Swin(m), r)
        }
    })
}

fn load_saved<B: Backend>(
    dir: &Path,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<PretrainedModel<B>> {
    let card = ModelCard::read(dir)?;
    let config = ZooConfig::from_family(&card.family, &card.config, &dir.join(MODEL_CARD_FILE))?;
    let model = load_weights(config.try_init::<B>(device)?, &weights_path(dir))?;
    let mut loaded = PretrainedModel {
        model,
        config,
        pretrained_cfg: card.pretrained_cfg,
        label_names: card.label_names,
        report: LoadReport::default(),
        source: card.source.unwrap_or_else(|| dir.display().to_string()),
    };
    loaded.set_num_classes(num_classes, device);
    Ok(loaded)
}

impl<B: Backend> PretrainedModel<B> {
    fn set_num_classes(&mut self, num_classes: Option<usize>, device: &B::Device) {
        let Some(n) = num_classes.filter(|n| *n != self.config.num_classes()) else {
            return;
        };
        let dim = match &self.config {
            ZooConfig::Vit(c) => c.embed_dim,
            ZooConfig::Deit(c) => c.vit.embed_dim,
            ZooConfig::Swin(c) => c.num_features(),
        };
        self.model.reset_classifier(dim, n, device);
        self.config.set_num_classes(n);
        self.label_names = None;
        self.report.fresh = vec!["classifier".into()];
    }
}

impl ZooConfig {
    /// Multiply-accumulates of one forward pass on one image at the native size.
    pub fn macs(&self) -> u64 {
        match self {
            Self::Vit(c) => c.macs(),
            Self::Deit(c) => c.macs(),
            Self::Swin(c) => c.macs(),
        }
    }
}
