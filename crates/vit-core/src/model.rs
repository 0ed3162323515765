//! What every model of the zoo is, whatever its family: [`VisionModel`] for a built model and
//! [`ModelConfig`] for its configuration. The zoo, the `vit` command and training talk to models
//! only through these, so a new family is one implementation of each.

use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use vit_ops::VitBackend;

use crate::error::Result;
use crate::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};
use crate::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use crate::preprocess::PretrainedCfg;

/// A built image model of any family (ViT, DeiT, Swin, …).
///
/// Object-safe: the zoo hands out `&dyn VisionModel<B>`.
pub trait VisionModel<B: VitBackend> {
    /// Checks an input shape `[batch, channels, height, width]` against the model, naming what
    /// was expected.
    fn check_input(&self, dims: [usize; 4]) -> Result<()>;

    /// Inference logits `[batch, num_classes]` (pooled features when the model has no head).
    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;

    /// Training outputs: the class logits and, for a distilled model, the distillation head's.
    fn forward_train(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        (self.forward(images), None)
    }

    /// The pooled, normed image features before the classifier `[batch, num_features]`: timm's
    /// `forward_head(forward_features(x), pre_logits=True)` — what CLIP, SigLIP and DINOv2 are
    /// used for.
    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;

    /// Image embeddings: [`Self::forward_pre_logits`], each row scaled to unit L2 norm when
    /// `l2_normalize` (a zero row stays zero).
    fn image_embeddings(&self, images: Tensor<B, 4>, l2_normalize: bool) -> Tensor<B, 2> {
        let features = self.forward_pre_logits(images);
        if !l2_normalize {
            return features;
        }
        let norm = (features.clone() * features.clone())
            .sum_dim(1)
            .sqrt()
            .clamp_min(1e-12);
        features / norm
    }

    /// The features before pooling, as timm's `forward_features`: tokens `[batch, tokens, dim]`
    /// for ViTs, the token map `[batch, height, width, dim]` for Swin.
    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData;

    /// Classifier outputs (0 when the model has no head).
    fn num_classes(&self) -> usize;

    /// Width of the pooled features the classifier reads.
    fn num_features(&self) -> usize;

    /// Replaces the classifier(s) by fresh ones of `num_classes` outputs (none for 0); returns
    /// the timm keys of the fresh parameters.
    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String>;

    /// Lets the model run inputs of other sizes (a ViT resamples its position embedding);
    /// false when the family cannot.
    fn enable_dynamic_img_size(&mut self) -> bool;

    /// Runs `images` keeping every block's attention weights, for attention maps; an error for
    /// families without global attention.
    fn attention_weights(&self, images: Tensor<B, 4>) -> Result<AttentionWeights<B>>;

    /// The position embedding of the patch tokens; an error for families without one.
    fn patch_positions(&self) -> Result<PatchPositions>;

    /// The linear patch-embedding filters; an error saying why for models without them
    /// (hybrids: a CNN stem comes first).
    fn patch_filters(&self) -> Result<PatchFilters>;

    /// Intermediate feature maps (timm's `forward_intermediates`): ViT/DeiT per block on the
    /// patch grid, Swin per stage (strides 4, 8, 16, 32 at timm's sizes); see
    /// [`crate::features`]. Bad indices or input shapes are errors naming them.
    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>>;

    /// Channels, stride and timm module name of every map [`Self::forward_intermediates`] can
    /// return, in index order.
    fn feature_info(&self) -> Vec<FeatureInfo>;

    /// Drops what the maps `indices` do not need — later blocks (stages), the classifier when
    /// `prune_head`, the final norm when `prune_norm` — and returns the absolute indices (timm's
    /// `prune_intermediate_layers`).
    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>>;

    /// The maps and layout timm's `features_only=True` gives for this family by default.
    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat);
}

/// The configuration of a model of any family: what the zoo, the CLI and training read or
/// change without knowing the family. Object-safe: the zoo hands out `&dyn ModelConfig`.
pub trait ModelConfig {
    /// The family name saved with a model (`vit`, `swin`).
    fn family(&self) -> &'static str;

    /// Checks the config, naming the field at fault.
    fn validate(&self) -> Result<()>;

    /// Classifier outputs.
    fn num_classes(&self) -> usize;

    /// Sets the classifier outputs.
    fn set_num_classes(&mut self, num_classes: usize);

    /// Sets the stochastic-depth rate (the deepest block's; timm's linear rule spreads it).
    fn set_drop_path_rate(&mut self, rate: f64);

    /// Input `[channels, height, width]` the model is built for.
    fn input_size(&self) -> [usize; 3];

    /// Multiply-accumulates of one forward pass on one image at the native size.
    fn macs(&self) -> u64;

    /// Learnable parameters, computed from the config alone (nothing is allocated): what the
    /// memory checks use ([`crate::memory`]).
    fn param_estimate(&self) -> u64;

    /// Floats one image's forward pass keeps for the backward pass (an estimate: the layer
    /// inputs and activations, and the attention weights).
    fn activation_estimate(&self) -> u64;

    /// The preprocessing timm gives the family when nothing else says (a bare weights file).
    fn default_pretrained_cfg(&self) -> PretrainedCfg;

    /// The config as a saved model card stores it (JSON).
    fn card_config(&self) -> Value;
}

/// The [`ModelConfig`] methods that only read or write the fields every family's config has
/// under timm's names (`num_classes`, `drop_path_rate`, `in_chans`, `img_size`): invoke it inside
/// `impl ModelConfig for YourConfig { … }`.
#[macro_export]
macro_rules! timm_config_fields {
    () => {
        fn num_classes(&self) -> usize {
            self.num_classes
        }

        fn set_num_classes(&mut self, num_classes: usize) {
            self.num_classes = num_classes;
        }

        fn set_drop_path_rate(&mut self, rate: f64) {
            self.drop_path_rate = rate;
        }

        fn input_size(&self) -> [usize; 3] {
            [self.in_chans, self.img_size[0], self.img_size[1]]
        }
    };
}
