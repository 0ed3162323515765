//! Intermediate feature maps — timm's `forward_intermediates`, `prune_intermediate_layers` and
//! `features_only` — for using a zoo model as the backbone of a detector or segmenter.
//!
//! Indices count blocks for ViT/DeiT and stages for Swin, as in timm: `Last(n)` takes the last
//! `n`, `Select` takes the listed ones (negative counts from the end); maps come back in block
//! order whatever the order asked.

use std::marker::PhantomData;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
use crate::model::VisionModel;

/// Which intermediates to take (timm's `indices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureIndices {
    /// Every block (stage).
    All,
    /// The last `n`.
    Last(usize),
    /// These, negative ones counted from the end (`-1` is the last).
    Select(Vec<i64>),
}

impl FeatureIndices {
    /// Absolute, sorted, de-duplicated indices into `count` blocks (stages), and the largest;
    /// an error names the index and the range when one is out of it (timm's
    /// `feature_take_indices`).
    pub fn resolve(&self, count: usize) -> Result<(Vec<usize>, usize)> {
        let err = |reason: String| VitError::FeatureIndices {
            asked: format!("{self:?}"),
            reason,
        };
        let mut taken = match self {
            Self::All => (0..count).collect::<Vec<_>>(),
            Self::Last(n) => {
                if *n == 0 || *n > count {
                    return Err(err(format!("last-n must be 1 to {count} for this model")));
                }
                (count - n..count).collect()
            }
            Self::Select(list) => {
                if list.is_empty() {
                    return Err(err("no index given".into()));
                }
                list.iter()
                    .map(|&i| {
                        let abs = if i < 0 { count as i64 + i } else { i };
                        if abs < 0 || abs >= count as i64 {
                            Err(err(format!(
                                "{i} is out of range: this model has {count}, so 0 to {} or -{count} to -1",
                                count as i64 - 1
                            )))
                        } else {
                            Ok(abs as usize)
                        }
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        if taken.is_empty() {
            return Err(err("this model has no blocks".into()));
        }
        taken.sort_unstable();
        taken.dedup();
        let max = *taken.last().expect("not empty");
        Ok((taken, max))
    }
}

/// Layout of the returned maps (timm's `output_fmt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureFormat {
    /// `[batch, channels, height, width]`: what convolutional necks take.
    #[default]
    Nchw,
    /// `[batch, height, width, channels]`: Swin's own layout.
    Nhwc,
    /// `[batch, height·width, channels]`: tokens, row-major over the grid.
    Nlc,
}

/// One intermediate map, in the [`FeatureFormat`] asked for.
#[derive(Debug, Clone)]
pub enum FeatureMap<B: VitBackend> {
    /// NCHW or NHWC.
    Spatial(Tensor<B, 4>),
    /// NLC.
    Tokens(Tensor<B, 3>),
}

impl<B: VitBackend> FeatureMap<B> {
    /// Lays out a `[batch, height, width, channels]` map as `format` asks.
    pub fn from_nhwc(map: Tensor<B, 4>, format: FeatureFormat) -> Self {
        match format {
            FeatureFormat::Nhwc => Self::Spatial(map),
            FeatureFormat::Nchw => Self::Spatial(map.permute([0, 3, 1, 2])),
            FeatureFormat::Nlc => {
                let [b, h, w, c] = map.dims();
                Self::Tokens(map.reshape([b, h * w, c]))
            }
        }
    }

    /// The shape, whatever the rank.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Self::Spatial(t) => t.dims().to_vec(),
            Self::Tokens(t) => t.dims().to_vec(),
        }
    }

    /// The NCHW / NHWC tensor (`None` for tokens).
    pub fn spatial(self) -> Option<Tensor<B, 4>> {
        match self {
            Self::Spatial(t) => Some(t),
            Self::Tokens(_) => None,
        }
    }

    /// The NLC tensor (`None` for spatial maps).
    pub fn tokens(self) -> Option<Tensor<B, 3>> {
        match self {
            Self::Tokens(t) => Some(t),
            Self::Spatial(_) => None,
        }
    }

    /// The values, on the host.
    pub fn into_data(self) -> TensorData {
        match self {
            Self::Spatial(t) => t.into_data(),
            Self::Tokens(t) => t.into_data(),
        }
    }
}

/// Options of [`crate::model::VisionModel::forward_intermediates`] (timm's arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntermediatesOptions {
    /// Which blocks (ViT) or stages (Swin).
    pub indices: FeatureIndices,
    /// Layout of the maps.
    pub output_fmt: FeatureFormat,
    /// Apply the final norm to the maps (ViT: every map; Swin: the last stage's only, the norm
    /// being sized for it).
    pub norm: bool,
    /// Stop after the last block asked for (the final features are then not computed).
    pub stop_early: bool,
    /// Keep the prefix tokens (class, distillation) of each ViT map apart in
    /// [`Intermediates::prefix_tokens`].
    pub return_prefix_tokens: bool,
}

impl Default for IntermediatesOptions {
    fn default() -> Self {
        Self {
            indices: FeatureIndices::All,
            output_fmt: FeatureFormat::Nchw,
            norm: false,
            stop_early: false,
            return_prefix_tokens: false,
        }
    }
}

impl IntermediatesOptions {
    /// These indices, other options at their defaults.
    pub fn indices(indices: FeatureIndices) -> Self {
        Self {
            indices,
            ..Self::default()
        }
    }
}

/// What `forward_intermediates` hands back.
#[derive(Debug, Clone)]
pub struct Intermediates<B: VitBackend> {
    /// The maps asked for, in block order.
    pub maps: Vec<FeatureMap<B>>,
    /// Each map's prefix tokens `[batch, prefix, dim]` (ViT with `return_prefix_tokens`).
    pub prefix_tokens: Vec<Tensor<B, 3>>,
    /// The last block's output as timm returns it beside the maps: all tokens after the final
    /// norm (ViT, `[batch, tokens, dim]`) or the token map `[batch, H, W, dim]` (Swin, normed
    /// when the last stage ran). With `stop_early` it is the last block that ran.
    pub features: FeatureMap<B>,
}

/// One output of a feature extractor (timm's `feature_info` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureInfo {
    /// Channels of the map.
    pub num_chs: usize,
    /// Stride of the map relative to the input image.
    pub reduction: usize,
    /// The module the map is taken after (timm's name: `blocks.11`, `layers.2`).
    pub module: String,
}

/// How a [`FeatureExtractor`] is cut (timm's `features_only=True` arguments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureOptions {
    /// The maps to return (timm's `out_indices`); `None`: the family's default (ViT: the last 3
    /// blocks; Swin: every stage).
    pub out_indices: Option<FeatureIndices>,
    /// Their layout; `None`: the family's default (ViT: NCHW; Swin: NHWC, as timm).
    pub output_fmt: Option<FeatureFormat>,
    /// Apply the final norm as [`IntermediatesOptions::norm`] does.
    pub norm: bool,
}

/// A zoo model as a multi-scale backbone (timm's `features_only=True`): pruned to the blocks
/// (stages) its maps need, classifier dropped, returning those maps. A Burn module: put it in
/// your own model and train through it.
///
/// Load the classifier's checkpoint as usual (the head's weights are then dropped with it), and
/// wrap it: `FeatureExtractor::new(PretrainedModel::load(…)?.model, FeatureOptions::default())`.
#[derive(Module, Debug)]
pub struct FeatureExtractor<B: VitBackend, M: Module<B>> {
    /// The pruned model.
    pub model: M,
    /// Absolute indices of the maps returned.
    pub indices: Vec<usize>,
    /// Layout of the maps.
    pub output_fmt: FeatureFormat,
    /// Whether the final norm is applied (see [`IntermediatesOptions::norm`]).
    pub norm: bool,
    /// Channels, stride and module of each returned map.
    pub info: Vec<FeatureInfo>,
    _backend: PhantomData<B>,
}

impl<B: VitBackend, M: VisionModel<B> + Module<B>> FeatureExtractor<B, M> {
    /// Prunes `model` to the maps `options` asks for (an error names a bad index).
    pub fn new(mut model: M, options: FeatureOptions) -> Result<Self> {
        let (default_indices, default_fmt) = model.default_feature_maps();
        let all = model.feature_info();
        let indices = options.out_indices.unwrap_or(default_indices);
        let taken = model.prune_intermediate_layers(&indices, false, true)?;
        Ok(Self {
            model,
            info: taken.iter().map(|&i| all[i].clone()).collect(),
            indices: taken,
            output_fmt: options.output_fmt.unwrap_or(default_fmt),
            norm: options.norm,
            _backend: PhantomData,
        })
    }

    /// The maps, one per [`Self::feature_info`] entry, for `images [batch, channels, H, W]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Result<Vec<FeatureMap<B>>> {
        let options = IntermediatesOptions {
            indices: FeatureIndices::Select(self.indices.iter().map(|&i| i as i64).collect()),
            output_fmt: self.output_fmt,
            norm: self.norm,
            stop_early: true,
            return_prefix_tokens: false,
        };
        Ok(self.model.forward_intermediates(images, &options)?.maps)
    }

    /// Channels, stride and timm module name of each returned map.
    pub fn feature_info(&self) -> &[FeatureInfo] {
        &self.info
    }
}
