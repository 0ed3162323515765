//! The whole zoo behind one type: any ViT, DeiT or Swin — built from a preset or a config file,
//! loaded from a timm folder, a checkpoint or a saved folder, run, and saved.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData, backend::Backend};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vit_core::checkpoint::Checkpoint;
use vit_core::config_file::config_from_json;
use vit_core::error::{Result, VitError};
use vit_core::init::timm_linear;
use vit_core::param_count::count_params;
use vit_core::presets::vit_presets;
use vit_core::pretrained::{ModelFamily, Pretrained, load_config_file, load_pretrained};
use vit_core::state_dict::LoadReport;
use vit_core::timm_folder::{PretrainedCfg, TimmConfig};
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

    /// Sets the stochastic-depth rate (the deepest block's; timm's linear rule spreads it).
    pub fn set_drop_path_rate(&mut self, rate: f64) {
        match self {
            Self::Vit(c) => c.drop_path_rate = rate,
            Self::Deit(c) => c.vit.drop_path_rate = rate,
            Self::Swin(c) => c.drop_path_rate = rate,
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
        load_config_file(path)
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

    /// Replaces the classifier(s) by fresh ones of `n` outputs (none when `n = 0`); returns the
    /// keys of the fresh parameters.
    fn reset_classifier(&mut self, dim: usize, n: usize, device: &B::Device) -> Vec<String> {
        let fresh = || (n > 0).then(|| timm_linear(dim, n, true, device));
        let prefixes: &[&str] = match self {
            Self::Vit(m) => {
                m.head = fresh();
                &["head"]
            }
            Self::Deit(m) => {
                m.vit.head = fresh();
                m.head_dist = fresh();
                &["vit.head", "head_dist"]
            }
            Self::Swin(m) => {
                m.head.fc = fresh();
                &["head.fc"]
            }
        };
        if n == 0 {
            return Vec::new();
        }
        prefixes
            .iter()
            .flat_map(|p| [format!("{p}.weight"), format!("{p}.bias")])
            .collect()
    }
}

/// Any zoo model with everything that came with its weights.
pub type PretrainedModel<B> = Pretrained<ZooConfig, B>;

/// Loads any zoo model from a timm folder (the architecture picks ViT, DeiT or Swin), a folder
/// we saved, or a bare weights file built from `base` (see [`load_pretrained`]); `num_classes` of
/// another size gets fresh classifier(s).
pub fn load_model<B: Backend>(
    path: &Path,
    base: Option<ZooConfig>,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<PretrainedModel<B>> {
    load_pretrained(path, base, num_classes, device)
}

impl ModelFamily for ZooConfig {
    type Model<B: Backend> = ZooModel<B>;

    fn family(&self) -> &'static str {
        ZooConfig::family(self)
    }

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        let text = config.to_string();
        match family {
            "vit" => Ok(Self::Vit(VisionTransformerConfig::from_card(
                family, config, path,
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

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        Ok(Self::Vit(VisionTransformerConfig::from_plain(text, path)?))
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        config_from_timm(timm)
    }

    fn card_config(&self) -> Value {
        let tagged = serde_json::to_value(self).expect("configs serialise");
        tagged.get("config").cloned().unwrap_or(Value::Null)
    }

    fn num_classes(&self) -> usize {
        ZooConfig::num_classes(self)
    }

    fn set_num_classes(&mut self, n: usize) {
        ZooConfig::set_num_classes(self, n)
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        ZooConfig::default_pretrained_cfg(self)
    }

    fn build<B: Backend>(&self, device: &B::Device) -> Result<ZooModel<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: Backend>(
        &self,
        checkpoint: Checkpoint,
        device: &B::Device,
    ) -> Result<(ZooModel<B>, LoadReport)> {
        Ok(match self {
            Self::Vit(c) => {
                let (m, r) = load_vit_checkpoint(c, checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::Deit(c) => {
                let (m, r) = load_deit_checkpoint(c, checkpoint, device)?;
                (ZooModel::Deit(m), r)
            }
            Self::Swin(c) => {
                let (m, r) = load_swin_checkpoint(c, checkpoint, device)?;
                (ZooModel::Swin(m), r)
            }
        })
    }

    fn reset_classifier<B: Backend>(
        &self,
        model: &mut ZooModel<B>,
        device: &B::Device,
    ) -> Vec<String> {
        let dim = match self {
            Self::Vit(c) => c.embed_dim,
            Self::Deit(c) => c.vit.embed_dim,
            Self::Swin(c) => c.num_features(),
        };
        model.reset_classifier(dim, ZooConfig::num_classes(self), device)
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
