//! Swin Transformer V1 (Liu et al. 2021): a hierarchy of stages of shifted-window blocks, with
//! patch merging between stages — timm's `SwinTransformer` structure and parameter names.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};
use vit_core::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use vit_core::layers::drop_path::drop_path_schedule;
use vit_core::layers::init::timm_linear;
use vit_core::layers::linear;
use vit_core::layers::patch_embed::{PatchEmbed, PatchEmbedConfig, patch_grid};
use vit_core::layers::{LayerNorm, LayerNormConfig};
use vit_core::model::{ModelConfig, VisionModel};
use vit_core::preprocess::PretrainedCfg;

use crate::swin::block::{SwinBlock, SwinBlockConfig};
use crate::swin::patch_merging::{PatchMerging, PatchMergingConfig};

/// Configuration of a [`SwinTransformer`]; field names and defaults follow timm's
/// `SwinTransformer` (defaults: Swin-T at 224, 1000 classes).
#[derive(Config, Debug, PartialEq)]
pub struct SwinTransformerConfig {
    /// Input image size `[height, width]`.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side (the first stage's token stride).
    #[config(default = 4)]
    pub patch_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Classifier outputs; 0 means no head.
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Token dimension of the first stage; it doubles at every later stage.
    #[config(default = 96)]
    pub embed_dim: usize,
    /// Blocks per stage.
    #[config(default = "vec![2, 2, 6, 2]")]
    pub depths: Vec<usize>,
    /// Attention heads per stage.
    #[config(default = "vec![3, 6, 12, 24]")]
    pub num_heads: Vec<usize>,
    /// Window side in tokens.
    #[config(default = 7)]
    pub window_size: usize,
    /// MLP hidden size as a multiple of the stage's dimension.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the qkv projections.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of the last block, rising linearly over all blocks (timm's default 0.1).
    #[config(default = 0.1)]
    pub drop_path_rate: f64,
    /// LayerNorm epsilon (PyTorch's default; ViT uses 1e-6).
    #[config(default = 1e-5)]
    pub norm_eps: f64,
    /// Only `img_size` inputs (timm's default). `false`: any size that splits into whole
    /// patches, padded to whole windows with the shift masks built for it at run time (timm's
    /// `strict_img_size=False` / `dynamic_img_size=True`).
    #[config(default = true)]
    pub strict_img_size: bool,
    /// timm's `SwinTransformer` (V1, Swin-S3) or `SwinTransformerV2`.
    #[config(default = "SwinVersion::V1")]
    pub version: SwinVersion,
    /// A window side per stage (timm's `window_size` as a list: Swin-S3), instead of
    /// `window_size` everywhere.
    #[config(default = "None")]
    pub stage_window_sizes: Option<Vec<usize>>,
    /// V2: the window each stage's bias MLP was pre-trained with (timm's
    /// `pretrained_window_sizes`; 0 or `None`: the stage's own window). Fine-tunes at a larger
    /// window (12 → 16 at 256 px, 12 → 24 at 384 px) keep the pre-training's offset scale.
    #[config(default = "None")]
    pub pretrained_window_sizes: Option<Vec<usize>>,
}

/// Which of timm's Swin models a config builds.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SwinVersion {
    /// Swin Transformer (Liu et al. 2021): pre-norm blocks, learned bias tables, scaled
    /// dot-product attention.
    #[default]
    V1,
    /// Swin Transformer V2 (Liu et al. 2022): residual post-norm blocks, a continuous position
    /// bias MLP, cosine attention with a learned scale, patch merging normed after its Linear.
    V2,
}

/// A stage: optional patch merging (all stages but the first), then its blocks.
#[derive(Module, Debug)]
pub struct SwinStage<B: VitBackend> {
    /// Patch merging at the start of the stage (timm layout).
    pub downsample: Option<PatchMerging<B>>,
    /// The blocks, alternating regular and shifted windows.
    pub blocks: Vec<SwinBlock<B>>,
}

impl<B: VitBackend> SwinStage<B> {
    /// `[batch, H, W, C]` → `[batch, ⌈H/2⌉, ⌈W/2⌉, 2C]` (the same map in the first stage).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = match &self.downsample {
            Some(merge) => merge.forward(x),
            None => x,
        };
        for block in &self.blocks {
            x = block.forward(x);
        }
        x
    }
}

/// Pooling and classifier (timm's `ClassifierHead`: the classifier is `head.fc`).
#[derive(Module, Debug)]
pub struct ClassifierHead<B: VitBackend> {
    /// Dropout before the classifier.
    pub drop: Dropout,
    /// The classifier (absent when `num_classes = 0`).
    pub fc: Option<Linear<B>>,
}

/// A Swin Transformer.
#[derive(Module, Debug)]
pub struct SwinTransformer<B: VitBackend> {
    /// Patch partition + linear embedding + LayerNorm.
    pub patch_embed: PatchEmbed<B>,
    /// The stages.
    pub layers: Vec<SwinStage<B>>,
    /// Final norm.
    pub norm: LayerNorm<B>,
    /// Average pooling and classifier.
    pub head: ClassifierHead<B>,
    /// Whether [`Self::norm`] is applied; off once pruned away
    /// ([`Self::prune_intermediate_layers`]; not saved).
    pub apply_norm: bool,
    /// Inputs of any size that splits into patches are accepted (config `strict_img_size =
    /// false`, or [`VisionModel::enable_dynamic_img_size`]).
    pub dynamic_img_size: bool,
    /// Per-stage window the current one was scaled from, and the patch grid it was set for
    /// (timm's `_ref_window_sizes`, `_ref_grid_size`): [`Self::set_input_size`] without a window
    /// keeps each stage's window-to-grid ratio.
    pub ref_windows: Vec<[usize; 2]>,
    /// See [`Self::ref_windows`].
    pub ref_grid: [usize; 2],
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl SwinTransformerConfig {
    /// Checks every field the model cannot be built with, naming the field.
    pub fn validate(&self) -> Result<()> {
        use vit_core::limits::{
            MAX_CHANNELS, MAX_CLASSES, MAX_DEPTH, MAX_SIDE, MAX_WIDTH, check_bounds,
            check_mlp_ratio,
        };
        // The widest stage (embed_dim · 2^(stages−1)) and its MLP must fit the bounds ViT's
        // do, so costs and allocations cannot overflow.
        let stages = self.depths.len();
        let widest = u32::try_from(stages.saturating_sub(1))
            .ok()
            .and_then(|s| self.embed_dim.checked_shl(s))
            .filter(|w| *w >> stages.saturating_sub(1) == self.embed_dim && *w <= MAX_WIDTH)
            .ok_or_else(|| {
                invalid(
                    "embed_dim",
                    format!(
                        "{} doubled over {stages} stages exceeds {MAX_WIDTH}",
                        self.embed_dim
                    ),
                )
            })?;
        check_mlp_ratio(widest, self.mlp_ratio)?;
        check_bounds(&[
            ("img_size", self.img_size[0].max(self.img_size[1]), MAX_SIDE),
            ("in_chans", self.in_chans, MAX_CHANNELS),
            (
                "depths",
                self.depths.iter().fold(0usize, |a, &d| a.saturating_add(d)),
                MAX_DEPTH,
            ),
            ("num_classes", self.num_classes, MAX_CLASSES),
            ("window_size", self.window_size, MAX_SIDE),
        ])?;
        patch_grid(self.img_size, self.patch_size)?;
        if self.depths.is_empty() || self.depths.len() != self.num_heads.len() {
            return Err(invalid(
                "num_heads",
                format!(
                    "needs one entry per stage: depths has {}, num_heads {}",
                    self.depths.len(),
                    self.num_heads.len()
                ),
            ));
        }
        for (stage, &heads) in self.num_heads.iter().enumerate() {
            let dim = self.stage_dim(stage);
            if heads == 0 || !dim.is_multiple_of(heads) {
                return Err(invalid(
                    "num_heads",
                    format!("stage {stage}: dimension {dim} is not a multiple of {heads} heads"),
                ));
            }
        }
        for (field, list) in [
            ("stage_window_sizes", &self.stage_window_sizes),
            ("pretrained_window_sizes", &self.pretrained_window_sizes),
        ] {
            if let Some(list) = list {
                if list.len() != stages {
                    return Err(invalid(
                        field,
                        format!("needs one entry per stage ({stages}), got {}", list.len()),
                    ));
                }
                if list.iter().any(|&w| w > MAX_SIDE) {
                    return Err(invalid(
                        field,
                        format!("entries must be at most {MAX_SIDE}"),
                    ));
                }
            }
        }
        if self
            .stage_window_sizes
            .as_ref()
            .is_some_and(|w| w.contains(&0))
        {
            return Err(invalid("stage_window_sizes", "windows must be at least 1"));
        }
        if self.pretrained_window_sizes.is_some() && self.version == SwinVersion::V1 {
            return Err(invalid(
                "pretrained_window_sizes",
                "only Swin V2's bias MLP has a pre-training window (set `version` to v2)",
            ));
        }
        if self.window_size == 0 || self.embed_dim == 0 || self.in_chans == 0 {
            return Err(invalid(
                "window_size",
                "window_size, embed_dim and in_chans must be at least 1",
            ));
        }
        for (field, rate) in [
            ("drop_rate", self.drop_rate),
            ("proj_drop_rate", self.proj_drop_rate),
            ("attn_drop_rate", self.attn_drop_rate),
            ("drop_path_rate", self.drop_path_rate),
        ] {
            if !(0.0..1.0).contains(&rate) {
                return Err(invalid(field, format!("must be in [0, 1), got {rate}")));
            }
        }
        Ok(())
    }

    /// The window side of stage `i` (`stage_window_sizes`, or `window_size`).
    pub fn stage_window(&self, stage: usize) -> usize {
        self.stage_window_sizes
            .as_ref()
            .and_then(|w| w.get(stage).copied())
            .unwrap_or(self.window_size)
    }

    /// V2: the pre-training window of stage `i` (0: its own).
    pub fn pretrained_window(&self, stage: usize) -> usize {
        self.pretrained_window_sizes
            .as_ref()
            .and_then(|w| w.get(stage).copied())
            .unwrap_or(0)
    }

    /// Token dimension of stage `i` (`embed_dim · 2^i`).
    pub fn stage_dim(&self, stage: usize) -> usize {
        self.embed_dim << stage
    }

    /// Token map `[height, width]` of each stage (halved, rounded up, after the first).
    pub fn stage_resolutions(&self) -> Result<Vec<[usize; 2]>> {
        let mut res = patch_grid(self.img_size, self.patch_size)?;
        let mut all = Vec::with_capacity(self.depths.len());
        for stage in 0..self.depths.len() {
            if stage > 0 {
                res = res.map(|r| r.div_ceil(2));
            }
            all.push(res);
        }
        Ok(all)
    }

    /// Width of the pooled features (the last stage's dimension).
    pub fn num_features(&self) -> usize {
        self.stage_dim(self.depths.len().saturating_sub(1))
    }

    /// Builds the model after [`Self::validate`].
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<SwinTransformer<B>> {
        self.validate()?;
        vit_core::memory::check_weights_fit(self, "depths / embed_dim")?;
        let patch_embed = PatchEmbedConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_embed_dim(self.embed_dim)
            .with_norm(true)
            .with_norm_eps(self.norm_eps)
            .try_init(device)?;
        let mut rates =
            drop_path_schedule(self.drop_path_rate, self.depths.iter().sum()).into_iter();
        let resolutions = self.stage_resolutions()?;
        let layers = (0..self.depths.len())
            .map(|stage| {
                let dim = self.stage_dim(stage);
                let downsample = (stage > 0).then(|| {
                    PatchMergingConfig::new(self.stage_dim(stage - 1), dim)
                        .with_norm_eps(self.norm_eps)
                        .with_norm_after(self.version == SwinVersion::V2)
                        .init(device)
                });
                let blocks = (0..self.depths[stage])
                    .map(|i| {
                        SwinBlockConfig::new(dim, resolutions[stage], self.num_heads[stage])
                            .with_window_size(self.stage_window(stage))
                            .with_version(self.version)
                            .with_pretrained_window(self.pretrained_window(stage))
                            .with_shifted(i % 2 == 1)
                            .with_mlp_ratio(self.mlp_ratio)
                            .with_qkv_bias(self.qkv_bias)
                            .with_proj_drop(self.proj_drop_rate)
                            .with_attn_drop(self.attn_drop_rate)
                            .with_drop_path(rates.next().unwrap_or(0.0))
                            .with_norm_eps(self.norm_eps)
                            .init(device)
                    })
                    .collect();
                SwinStage { downsample, blocks }
            })
            .collect();
        let features = self.num_features();
        Ok(SwinTransformer {
            patch_embed,
            layers,
            norm: LayerNormConfig::new(features)
                .with_epsilon(self.norm_eps)
                .init(device),
            head: ClassifierHead {
                drop: DropoutConfig::new(self.drop_rate).init(),
                fc: (self.num_classes > 0)
                    .then(|| timm_linear(features, self.num_classes, true, device)),
            },
            apply_norm: true,
            dynamic_img_size: !self.strict_img_size,
            ref_windows: (0..self.depths.len())
                .map(|stage| [self.stage_window(stage); 2])
                .collect(),
            ref_grid: patch_grid(self.img_size, self.patch_size)?,
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config; use [`Self::try_init`] for configs that come from users.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> SwinTransformer<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<B: VitBackend> SwinTransformer<B> {
    /// Checks that `images` are `[batch, in_chans, height, width]` at the built size (any size
    /// of whole patches with [`Self::dynamic_img_size`]).
    pub fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        self.patch_embed.check_size(
            dims,
            self.dynamic_img_size,
            "; build it with `strict_img_size = false` to run other sizes",
        )
    }

    /// Refits the model to `img_size` inputs (timm's `set_input_size`): every block's window
    /// becomes `window_size`, or — without one — its reference window scaled with the patch
    /// grid; bias tables are resized to the new windows (timm's `resize_rel_pos_bias_table`)
    /// and the shift masks rebuilt. So 224/window-7 weights run, and fine-tune, at
    /// 384/window-12. An `img_size` that does not split into patches, or a zero window, is an
    /// error naming it.
    pub fn set_input_size(
        &mut self,
        img_size: [usize; 2],
        window_size: Option<[usize; 2]>,
    ) -> Result<()> {
        let grid = patch_grid(img_size, self.patch_embed.patch_size)?;
        if window_size.is_some_and(|w| w.contains(&0)) {
            return Err(invalid("window_size", "must be at least 1"));
        }
        let windows: Vec<[usize; 2]> = match window_size {
            Some(w) => vec![w; self.layers.len()],
            None => self
                .ref_windows
                .iter()
                .map(|w| [0, 1].map(|a| (w[a] * grid[a] / self.ref_grid[a]).max(1)))
                .collect(),
        };
        if window_size.is_some() {
            self.ref_windows = windows.clone();
            self.ref_grid = grid;
        }
        self.patch_embed.img_size = img_size;
        for (i, (stage, window)) in self.layers.iter_mut().zip(windows).enumerate() {
            let resolution = grid.map(|g| g.div_ceil(1 << i));
            for block in &mut stage.blocks {
                block.set_input_size(resolution, window);
            }
        }
        Ok(())
    }

    /// Class logits `[batch, num_classes]` (pooled features when there is no head).
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    /// [`Self::forward`] after [`Self::check_input`].
    pub fn try_forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 2>> {
        self.check_input(images.dims())?;
        Ok(self.forward(images))
    }

    /// The last stage's normed token map `[batch, height, width, dim]` (timm's NHWC features).
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = self.embed(images);
        for stage in &self.layers {
            x = stage.forward(x);
        }
        self.final_norm(x)
    }

    /// The patch embedding as a token map `[batch, rows, cols, embed_dim]`: the first stage's
    /// input.
    pub fn embed(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, _, h, w] = images.dims();
        let [rows, cols] = self.patch_embed.grid_for([h, w]);
        let tokens = self.patch_embed.forward(images);
        let dim = tokens.dims()[2];
        tokens.reshape([b, rows, cols, dim])
    }

    /// The final norm, unless pruned away.
    pub(crate) fn final_norm(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if self.apply_norm {
            self.norm.forward(x)
        } else {
            x
        }
    }

    /// Average-pools features `[batch, H, W, dim]`; with `pre_logits` returns the pooled vector.
    pub fn forward_head(&self, features: Tensor<B, 4>, pre_logits: bool) -> Tensor<B, 2> {
        let [b, h, w, d] = features.dims();
        let pooled = features.reshape([b, h * w, d]).mean_dim(1).reshape([b, d]);
        let pooled = self.head.drop.forward(pooled);
        match (&self.head.fc, pre_logits) {
            (Some(fc), false) => linear(fc, pooled),
            _ => pooled,
        }
    }
}

/// Swin has no class token and no global patch grid: attention maps and position embeddings
/// are not defined for it.
fn no_global_attention(operation: &str) -> VitError {
    VitError::Unsupported {
        operation: operation.into(),
        family: SWIN_FAMILY.into(),
        reason: "Swin attends within shifted windows, without a class token or a global patch \
                 grid; use a ViT or DeiT model"
            .into(),
    }
}

impl<B: VitBackend> VisionModel<B> for SwinTransformer<B> {
    fn check_input(&self, dims: [usize; 4]) -> Result<()> {
        SwinTransformer::check_input(self, dims)
    }

    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        SwinTransformer::forward(self, images)
    }

    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), true)
    }

    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        SwinTransformer::forward_features(self, images).into_data()
    }

    fn num_classes(&self) -> usize {
        self.head
            .fc
            .as_ref()
            .map_or(0, |fc| fc.weight.lazy_shape()[1])
    }

    fn num_features(&self) -> usize {
        self.layers
            .last()
            .and_then(SwinStage::dim)
            .unwrap_or_else(|| self.norm.gamma.lazy_shape()[0])
    }

    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        SwinTransformer::forward_intermediates(self, images, options)
    }

    fn feature_info(&self) -> Vec<FeatureInfo> {
        SwinTransformer::feature_info(self)
    }

    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        SwinTransformer::prune_intermediate_layers(self, indices, prune_norm, prune_head)
    }

    /// timm's `features_only` for Swin: every stage, NHWC (its blocks' own layout).
    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat) {
        (FeatureIndices::All, FeatureFormat::Nhwc)
    }

    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String> {
        let dim = VisionModel::num_features(self);
        self.head.fc = (num_classes > 0).then(|| timm_linear(dim, num_classes, true, device));
        if num_classes == 0 {
            return Vec::new();
        }
        vec!["head.fc.weight".into(), "head.fc.bias".into()]
    }

    fn enable_dynamic_img_size(&mut self) -> bool {
        self.dynamic_img_size = true;
        true
    }

    fn attention_weights(&self, _images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        Err(no_global_attention("attention maps"))
    }

    fn patch_positions(&self) -> Result<PatchPositions> {
        Err(no_global_attention("the position embedding"))
    }

    fn patch_filters(&self) -> Result<PatchFilters> {
        self.patch_embed.linear_filters()
    }
}

/// The family name Swin models carry in a saved model card.
pub const SWIN_FAMILY: &str = "swin";

impl ModelConfig for SwinTransformerConfig {
    fn family(&self) -> &'static str {
        SWIN_FAMILY
    }

    fn validate(&self) -> Result<()> {
        SwinTransformerConfig::validate(self)
    }

    vit_core::timm_config_fields!();

    fn macs(&self) -> u64 {
        SwinTransformerConfig::macs(self)
    }

    fn param_estimate(&self) -> u64 {
        SwinTransformerConfig::param_estimate(self)
    }

    fn activation_estimate(&self) -> u64 {
        SwinTransformerConfig::activation_estimate(self)
    }

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        PretrainedCfg::imagenet_default(self.in_chans, self.img_size)
    }

    fn card_config(&self) -> Value {
        serde_json::to_value(self).expect("configs serialise")
    }
}
