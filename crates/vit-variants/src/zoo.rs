//! The whole zoo behind one type: any ViT (DeiT and DeiT III included), Swin, Eva, NaFlexViT,
//! BEiT, ViT-relpos, CaiT or XCiT — built from a
//! preset or a config file, loaded from a timm folder, a checkpoint or a saved folder, run, and
//! saved. Every call goes to the family's [`VisionModel`] / [`ModelConfig`] implementation; the
//! only matches over the families are the ones that hand those out.

use std::path::Path;
use vit_core::VitBackend;
use vit_core::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vit_core::error::{Result, VitError};
use vit_core::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use vit_core::model::{ModelConfig, VisionModel};
use vit_core::preprocess::PretrainedCfg;
use vit_core::vit::import::apply_timm_vit_args;
use vit_core::weights::checkpoint::LazyCheckpoint;
use vit_core::weights::param_count::count_params;
use vit_core::weights::pretrained::{ModelFamily, Pretrained, load_config_file};
use vit_core::weights::state_dict::LoadReport;
use vit_core::weights::timm_folder::TimmConfig;
use vit_core::{VisionTransformer, VisionTransformerConfig};

use crate::beit::{BEIT_FAMILY, BeitConfig};
use crate::cait::{CAIT_FAMILY, Cait, CaitConfig};
use crate::eva::{EVA_FAMILY, EvaConfig};
use crate::naflex::{NAFLEX_FAMILY, NaflexConfig};
use crate::registry::{zoo_preset, zoo_presets};
use crate::relpos::{RELPOS_FAMILY, VitRelPosConfig};
use crate::swin::{SwinTransformer, SwinTransformerConfig};
use crate::timm_architecture::TimmArgs;
use crate::xcit::{XCIT_FAMILY, Xcit, XcitConfig};

/// The config of any zoo model; as JSON `{"family": "vit" | "deit" | "swin" | "eva" |
/// "naflexvit" | "beit" | "vit_relpos" | "cait" | "xcit", "config": {…}}`,
/// read like a config file: fields left out keep the family's defaults, unknown fields are
/// errors naming them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "family", content = "config", rename_all = "lowercase")]
#[serde(try_from = "TaggedConfig")]
pub enum ZooConfig {
    /// A ViT (also DeiT, distilled or not, and DeiT III).
    Vit(VisionTransformerConfig),
    /// A Swin Transformer.
    Swin(SwinTransformerConfig),
    /// timm's `Eva` (EVA-02, DINOv3, PE, RoPE-ViT): a ViT with rotary embeddings.
    Eva(EvaConfig),
    /// timm's NaFlexViT (SigLIP2 NaFlex, C-RADIO) at fixed resolution: a ViT.
    #[serde(rename = "naflexvit")]
    Naflex(NaflexConfig),
    /// timm's `Beit` (BEiT, BEiT v2): a ViT with relative position tables.
    Beit(BeitConfig),
    /// timm's `VisionTransformerRelPos`: a ViT with a relative position MLP.
    #[serde(rename = "vit_relpos")]
    RelPos(VitRelPosConfig),
    /// timm's `Cait`: talking-heads blocks, then class attention.
    Cait(CaitConfig),
    /// timm's `Xcit`: cross-covariance blocks, then class attention.
    Xcit(XcitConfig),
}

/// [`ZooConfig`] as written: `{"family": …, "config": {…}}`, read by the family's own reader —
/// or a plain ViT config (what `vit config vit_*` prints and `configs/vit_*.json` hold), so that
/// every config the tools write is accepted wherever a model config is.
#[derive(Deserialize)]
#[serde(transparent)]
struct TaggedConfig(Value);

impl TryFrom<TaggedConfig> for ZooConfig {
    type Error = VitError;

    fn try_from(TaggedConfig(value): TaggedConfig) -> Result<Self> {
        let path = Path::new("the `model` config");
        match value.get("family") {
            Some(family) => {
                let family = family.as_str().ok_or_else(|| VitError::InvalidConfig {
                    field: "family".into(),
                    reason: format!(
                        "expected a family name (vit, deit, swin, eva, naflexvit, beit, \
                         vit_relpos, cait, xcit), got {family}"
                    ),
                })?;
                let empty = Value::Object(Default::default());
                let config = value.get("config").unwrap_or(&empty);
                <Self as ModelFamily>::from_card(family, config, path)
            }
            None => <Self as ModelFamily>::from_plain(&value.to_string(), path),
        }
    }
}

/// A timm folder's `model_args` and `num_classes` over a family's catalogued config.
fn timm_args<C: TimmArgs>(base: &C, timm: &TimmConfig) -> Result<C> {
    C::apply_timm_args(base, &timm.model_args, timm.num_classes, &timm.path)
}

/// Any zoo model.
// A model is built once and moved rarely; boxing would need `Module` for `Box`, which Burn lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ZooModel<B: VitBackend> {
    /// A ViT (DeiT included).
    Vit(VisionTransformer<B>),
    /// A Swin Transformer.
    Swin(SwinTransformer<B>),
    /// A CaiT.
    Cait(Cait<B>),
    /// An XCiT.
    Xcit(Xcit<B>),
}

impl ZooConfig {
    /// The family's config behind the one interface.
    pub fn as_config(&self) -> &dyn ModelConfig {
        match self {
            Self::Vit(c) => c,
            Self::Swin(c) => c,
            Self::Eva(c) => c,
            Self::Naflex(c) => c,
            Self::Beit(c) => c,
            Self::RelPos(c) => c,
            Self::Cait(c) => c,
            Self::Xcit(c) => c,
        }
    }

    /// [`Self::as_config`], mutable.
    pub fn as_config_mut(&mut self) -> &mut dyn ModelConfig {
        match self {
            Self::Vit(c) => c,
            Self::Swin(c) => c,
            Self::Eva(c) => c,
            Self::Naflex(c) => c,
            Self::Beit(c) => c,
            Self::RelPos(c) => c,
            Self::Cait(c) => c,
            Self::Xcit(c) => c,
        }
    }

    /// The preset named `name` (timm's architecture name); the error lists every name.
    pub fn preset(name: &str) -> Result<Self> {
        zoo_preset(name)
    }

    /// The config built for `[height, width]` inputs (timm's `img_size`).
    pub fn with_img_size(self, img_size: [usize; 2]) -> Self {
        match self {
            Self::Vit(c) => Self::Vit(c.with_img_size(img_size)),
            Self::Swin(c) => Self::Swin(c.with_img_size(img_size)),
            Self::Eva(c) => Self::Eva(c.with_img_size(img_size)),
            Self::Naflex(c) => Self::Naflex(c.with_img_size(img_size)),
            Self::Beit(c) => Self::Beit(c.with_img_size(img_size)),
            Self::RelPos(c) => Self::RelPos(c.with_img_size(img_size)),
            Self::Cait(c) => Self::Cait(c.with_img_size(img_size)),
            Self::Xcit(c) => Self::Xcit(c.with_img_size(img_size)),
        }
    }

    /// The config with `num_classes` classifier outputs.
    pub fn with_num_classes(mut self, num_classes: usize) -> Self {
        self.set_num_classes(num_classes);
        self
    }

    /// Builds the model (weights drawn lazily on first use).
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<ZooModel<B>> {
        Ok(match self {
            Self::Vit(c) => ZooModel::Vit(c.try_init(device)?),
            Self::Swin(c) => ZooModel::Swin(c.try_init(device)?),
            Self::Eva(c) => ZooModel::Vit(c.try_init(device)?),
            Self::Naflex(c) => ZooModel::Vit(c.try_init(device)?),
            Self::Beit(c) => ZooModel::Vit(c.try_init(device)?),
            Self::RelPos(c) => ZooModel::Vit(c.try_init(device)?),
            Self::Cait(c) => ZooModel::Cait(c.try_init(device)?),
            Self::Xcit(c) => ZooModel::Xcit(c.try_init(device)?),
        })
    }

    /// Number of parameters, without drawing any weight (any backend gives the same count).
    pub fn num_params<B: VitBackend>(&self, device: &B::Device) -> Result<usize> {
        Ok(count_params(&self.try_init::<B>(device)?))
    }

    /// Reads a config file: `{"family": …, "config": …}` (also a saved `model.json`), a timm
    /// `config.json`, or a plain ViT config (as `configs/vit_*.json`).
    pub fn load_file(path: &Path) -> Result<Self> {
        load_config_file(path)
    }
}

impl ModelConfig for ZooConfig {
    fn family(&self) -> &'static str {
        self.as_config().family()
    }

    fn validate(&self) -> Result<()> {
        self.as_config().validate()
    }

    fn num_classes(&self) -> usize {
        self.as_config().num_classes()
    }

    fn set_num_classes(&mut self, num_classes: usize) {
        self.as_config_mut().set_num_classes(num_classes)
    }

    fn set_drop_path_rate(&mut self, rate: f64) {
        self.as_config_mut().set_drop_path_rate(rate)
    }

    fn input_size(&self) -> [usize; 3] {
        self.as_config().input_size()
    }

    fn macs(&self) -> u64 {
        self.as_config().macs()
    }

    fn param_estimate(&self) -> u64 {
        self.as_config().param_estimate()
    }

    fn activation_estimate(&self) -> u64 {
        self.as_config().activation_estimate()
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        self.as_config().default_pretrained_cfg()
    }

    fn card_config(&self) -> Value {
        self.as_config().card_config()
    }
}

impl ModelFamily for ZooConfig {
    type Model<B: VitBackend> = ZooModel<B>;

    fn timm_model_args(&self) -> Result<(String, Value)> {
        match self {
            Self::Vit(c) => c.timm_model_args(),
            Self::Swin(c) => c.timm_model_args(),
            Self::Eva(c) => c.timm_model_args(),
            Self::Naflex(c) => c.timm_model_args(),
            Self::Beit(c) => c.timm_model_args(),
            Self::RelPos(c) => c.timm_model_args(),
            Self::Cait(c) => c.timm_model_args(),
            Self::Xcit(c) => c.timm_model_args(),
        }
    }

    fn has_timm_layout(&self) -> bool {
        match self {
            Self::Swin(c) => c.has_timm_layout(),
            other => matches!(
                other,
                Self::Eva(_) | Self::Naflex(_) | Self::Beit(_) | Self::Xcit(_)
            ),
        }
    }

    fn to_timm_layout(
        &self,
        tensors: &mut std::collections::BTreeMap<String, TensorData>,
    ) -> std::result::Result<(), String> {
        match self {
            Self::Eva(c) => c.to_timm_layout(tensors),
            Self::Naflex(c) => c.to_timm_layout(tensors),
            Self::Beit(c) => c.to_timm_layout(tensors),
            Self::Swin(c) => c.to_timm_layout(tensors),
            Self::Xcit(c) => c.to_timm_layout(tensors),
            _ => Ok(()),
        }
    }

    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self> {
        match family {
            "swin" => Ok(Self::Swin(SwinTransformerConfig::from_card(
                family, config, path,
            )?)),
            EVA_FAMILY => Ok(Self::Eva(EvaConfig::from_card(family, config, path)?)),
            NAFLEX_FAMILY => Ok(Self::Naflex(NaflexConfig::from_card(family, config, path)?)),
            BEIT_FAMILY => Ok(Self::Beit(BeitConfig::from_card(family, config, path)?)),
            RELPOS_FAMILY => Ok(Self::RelPos(VitRelPosConfig::from_card(
                family, config, path,
            )?)),
            CAIT_FAMILY => Ok(Self::Cait(CaitConfig::from_card(family, config, path)?)),
            XCIT_FAMILY => Ok(Self::Xcit(XcitConfig::from_card(family, config, path)?)),
            _ => Ok(Self::Vit(VisionTransformerConfig::from_card(
                family, config, path,
            )?)),
        }
    }

    fn from_plain(text: &str, path: &Path) -> Result<Self> {
        Ok(Self::Vit(VisionTransformerConfig::from_plain(text, path)?))
    }

    fn from_timm(timm: &TimmConfig) -> Result<Self> {
        let base = zoo_preset(&timm.architecture).map_err(|_| VitError::UnknownArchitecture {
            name: timm.architecture.clone(),
            path: timm.path.clone(),
            available: zoo_presets().map(|(name, _)| name.to_string()).collect(),
        })?;
        Ok(match base {
            Self::Vit(c) => Self::Vit(apply_timm_vit_args(&c, timm)?),
            Self::Swin(c) => Self::Swin(timm_args(&c, timm)?),
            Self::Eva(c) => Self::Eva(timm_args(&c, timm)?),
            Self::Naflex(c) => Self::Naflex(timm_args(&c, timm)?),
            Self::Beit(c) => Self::Beit(timm_args(&c, timm)?),
            Self::RelPos(c) => Self::RelPos(timm_args(&c, timm)?),
            Self::Cait(c) => Self::Cait(timm_args(&c, timm)?),
            Self::Xcit(c) => Self::Xcit(timm_args(&c, timm)?),
        })
    }

    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<ZooModel<B>> {
        self.try_init(device)
    }

    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(ZooModel<B>, LoadReport)> {
        Ok(match self {
            Self::Vit(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::Swin(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Swin(m), r)
            }
            Self::Eva(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::Naflex(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::Beit(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::RelPos(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Vit(m), r)
            }
            Self::Cait(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Cait(m), r)
            }
            Self::Xcit(c) => {
                let (m, r) = c.load_checkpoint(checkpoint, device)?;
                (ZooModel::Xcit(m), r)
            }
        })
    }
}

impl<B: VitBackend> ZooModel<B> {
    /// The family's model behind the one interface.
    pub fn as_model(&self) -> &dyn VisionModel<B> {
        match self {
            Self::Vit(m) => m,
            Self::Swin(m) => m,
            Self::Cait(m) => m,
            Self::Xcit(m) => m,
        }
    }

    /// [`Self::as_model`], mutable.
    pub fn as_model_mut(&mut self) -> &mut dyn VisionModel<B> {
        match self {
            Self::Vit(m) => m,
            Self::Swin(m) => m,
            Self::Cait(m) => m,
            Self::Xcit(m) => m,
        }
    }
}

impl<B: VitBackend> VisionModel<B> for ZooModel<B> {
    fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        self.as_model().check_input(dims)
    }

    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.as_model().forward(images)
    }

    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.as_model().forward_pre_logits(images)
    }

    fn forward_train(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        self.as_model().forward_train(images)
    }

    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        self.as_model().forward_features(images)
    }

    fn num_classes(&self) -> usize {
        self.as_model().num_classes()
    }

    fn num_features(&self) -> usize {
        self.as_model().num_features()
    }

    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String> {
        self.as_model_mut().reset_classifier(num_classes, device)
    }

    fn enable_dynamic_img_size(&mut self) -> bool {
        self.as_model_mut().enable_dynamic_img_size()
    }

    fn attention_weights(&self, images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        self.as_model().attention_weights(images)
    }

    fn patch_positions(&self) -> Result<PatchPositions> {
        self.as_model().patch_positions()
    }

    fn patch_filters(&self) -> Result<PatchFilters> {
        self.as_model().patch_filters()
    }

    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        self.as_model().forward_intermediates(images, options)
    }

    fn feature_info(&self) -> Vec<FeatureInfo> {
        self.as_model().feature_info()
    }

    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        self.as_model_mut()
            .prune_intermediate_layers(indices, prune_norm, prune_head)
    }

    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat) {
        self.as_model().default_feature_maps()
    }
}

/// Any zoo model with everything that came with its weights; load one with
/// `PretrainedModel::<B>::load(path, base, num_classes, &device)`.
pub type PretrainedModel<B> = Pretrained<ZooConfig, B>;
