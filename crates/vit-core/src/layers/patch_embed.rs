//! Patch embedding: cut the image into `patch × patch` squares and project each to `embed_dim`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
use crate::inspect::PatchFilters;
use crate::layers::linear::{linear, linear_parts};
use crate::layers::norm::{Norm, NormKind, maybe_norm};
use crate::layers::stems::{HybridBackbone, HybridBackboneConfig};

/// How the patch projection is computed. Both forms hold the same numbers and give the same output.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PatchEmbedKind {
    /// A Conv2d with kernel = stride = patch size (timm's `patch_embed.proj`).
    #[default]
    Conv,
    /// Flatten every patch (channel-major: `c, y, x`) and apply one Linear layer.
    Linear,
}

/// Configuration of a [`PatchEmbed`].
#[derive(Config, Debug)]
pub struct PatchEmbedConfig {
    /// Image side length in pixels: `[height, width]`.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side length in pixels.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Number of input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Output dimension of each patch token.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Whether the projection has a bias.
    #[config(default = true)]
    pub bias: bool,
    /// Conv or linear form of the projection.
    #[config(default = "PatchEmbedKind::Conv")]
    pub kind: PatchEmbedKind,
    /// A norm on the patch tokens after the projection (timm's `norm_layer`; Swin's LayerNorm,
    /// AIMv2's RMSNorm).
    #[config(default = false)]
    pub norm: bool,
    /// The kind of that norm.
    #[config(default = "NormKind::LayerNorm")]
    pub norm_kind: NormKind,
    /// Epsilon of that norm.
    #[config(default = 1e-5)]
    pub norm_eps: f64,
    /// Zero-pad images on the right and bottom to whole patches (timm's `dynamic_img_pad`).
    #[config(default = false)]
    pub dynamic_img_pad: bool,
    /// Accept a built size that does not split into whole patches, dropping the pixels past the
    /// last whole patch as timm's strided convolution does (SigLIP so400m/14 at 384: a 27×27
    /// grid); off, such a size is an error.
    #[config(default = false)]
    pub crop_remainder: bool,
    /// A CNN stem before the projection (timm's `HybridEmbed`): the patches are cut from its
    /// feature map (`in_chans` stays the image's channels).
    #[config(default = "None")]
    pub backbone: Option<HybridBackboneConfig>,
    /// The projection; off, the stem's features are the tokens as they are (timm's
    /// `embed_args.proj = False`: needs a stem whose channels are `embed_dim`).
    #[config(default = true)]
    pub proj: bool,
}

/// The patch projection in either of its two forms.
#[derive(Module, Debug)]
pub enum PatchProjection<B: VitBackend> {
    /// Conv2d, weight `[embed_dim, in_chans, patch, patch]`.
    Conv(Conv2d<B>),
    /// Linear on flattened patches, weight `[in_chans·patch·patch, embed_dim]`.
    Linear(Linear<B>),
}

/// Turns images `[batch, channels, height, width]` into patch tokens `[batch, patches, embed_dim]`.
#[derive(Module, Debug)]
pub struct PatchEmbed<B: VitBackend> {
    /// A CNN stem before the projection (timm key `patch_embed.backbone`).
    pub backbone: Option<HybridBackbone<B>>,
    /// The projection (timm key `patch_embed.proj`); absent: the stem's features are the tokens.
    pub proj: Option<PatchProjection<B>>,
    /// Optional norm after the projection (timm key `patch_embed.norm`).
    pub norm: Option<Norm<B>>,
    /// Patch side length.
    pub patch_size: usize,
    /// Number of input channels.
    pub in_chans: usize,
    /// Image size the model was built for: `[height, width]`.
    pub img_size: [usize; 2],
    /// Zero-pad images to whole patches (right and bottom) instead of refusing them.
    pub dynamic_img_pad: bool,
    /// Drop the pixels past the last whole patch of the built size (timm's strided conv).
    pub crop_remainder: bool,
    /// The stem's shape, for the feature-map size of an input.
    pub backbone_config: Option<HybridBackboneConfig>,
    /// Token width.
    pub embed_dim: usize,
}

/// The patch grid of `[height, width]` as timm's strided convolution makes it: whole patches
/// only, the remainder dropped; an error when a side is smaller than one patch.
pub fn patch_grid_floor(img_size: [usize; 2], patch_size: usize) -> Result<[usize; 2]> {
    if patch_size == 0 || img_size[0] < patch_size || img_size[1] < patch_size {
        return patch_grid(img_size, patch_size);
    }
    Ok([img_size[0] / patch_size, img_size[1] / patch_size])
}

/// Checks that an image of `[height, width]` splits into whole patches; returns the grid.
pub fn patch_grid(img_size: [usize; 2], patch_size: usize) -> Result<[usize; 2]> {
    if patch_size == 0 {
        return Err(VitError::InvalidConfig {
            field: "patch_size".into(),
            reason: "must be at least 1".into(),
        });
    }
    for (side, size) in [("height", img_size[0]), ("width", img_size[1])] {
        if size == 0 || size % patch_size != 0 {
            let suggestion = (size / patch_size).max(1) * patch_size;
            return Err(VitError::NotDivisible {
                side,
                size,
                patch_size,
                suggestion,
            });
        }
    }
    Ok([img_size[0] / patch_size, img_size[1] / patch_size])
}

impl PatchEmbedConfig {
    /// Number of patches along `[height, width]`, or the error naming the sizes that do not fit
    /// (with a stem: of its feature map).
    pub fn grid_size(&self) -> Result<[usize; 2]> {
        let size = match &self.backbone {
            Some(stem) => {
                stem.validate()?;
                stem.feature_size(self.img_size)
            }
            None => self.img_size,
        };
        if self.crop_remainder {
            patch_grid_floor(size, self.patch_size)
        } else {
            patch_grid(size, self.patch_size)
        }
    }

    /// Channels the projection reads: the stem's, else the image's.
    pub fn proj_in_chans(&self) -> usize {
        self.backbone
            .as_ref()
            .map_or(self.in_chans, HybridBackboneConfig::out_channels)
    }

    /// Builds the module, checking the sizes first.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<PatchEmbed<B>> {
        self.grid_size()?;
        let p = self.patch_size;
        let cin = self.proj_in_chans();
        if !self.proj && (self.backbone.is_none() || cin != self.embed_dim || p != 1) {
            return Err(VitError::InvalidConfig {
                field: "embed_proj".into(),
                reason: format!(
                    "without a projection the tokens are a stem's features: needs a backbone \
                     with embed_dim ({}) channels and patch_size 1, found {cin} channels, patch \
                     {p}",
                    self.embed_dim
                ),
            });
        }
        // PyTorch's default init for both forms (U(±1/√fan_in)), as timm leaves the patch conv.
        let proj = self.proj.then(|| match self.kind {
            PatchEmbedKind::Conv => PatchProjection::Conv(
                Conv2dConfig::new([cin, self.embed_dim], [p, p])
                    .with_stride([p, p])
                    .with_bias(self.bias)
                    .init(device),
            ),
            PatchEmbedKind::Linear => PatchProjection::Linear(
                LinearConfig::new(cin * p * p, self.embed_dim)
                    .with_bias(self.bias)
                    .init(device),
            ),
        });
        let norm = self
            .norm
            .then(|| self.norm_kind.init(self.embed_dim, self.norm_eps, device));
        Ok(PatchEmbed {
            backbone: self
                .backbone
                .as_ref()
                .map(|stem| stem.init(self.in_chans, device)),
            proj,
            norm,
            patch_size: p,
            in_chans: self.in_chans,
            img_size: self.img_size,
            dynamic_img_pad: self.dynamic_img_pad,
            crop_remainder: self.crop_remainder,
            backbone_config: self.backbone.clone(),
            embed_dim: self.embed_dim,
        })
    }

    /// Builds the module.
    ///
    /// # Panics
    /// If the image size is not a multiple of the patch size; use [`Self::try_init`] for input
    /// that comes from a user.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> PatchEmbed<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<B: VitBackend> PatchEmbed<B> {
    /// Token width (`embed_dim`).
    pub fn embed_dim(&self) -> usize {
        self.embed_dim
    }

    /// Image pixels per token along each side: the patch size times the stem's stride.
    pub fn pixel_stride(&self) -> usize {
        self.patch_size
            * self
                .backbone_config
                .as_ref()
                .map_or(1, HybridBackboneConfig::stride)
    }

    /// The map the patches are cut from, for an image of `[height, width]`: the image itself, or
    /// the stem's feature map.
    pub fn feature_size(&self, size: [usize; 2]) -> [usize; 2] {
        match &self.backbone_config {
            Some(stem) => stem.feature_size(size),
            None => size,
        }
    }

    /// Embeds the patches. Input `[batch, in_chans, height, width]` with sides that are
    /// multiples of the patch size; output `[batch, (h/p)·(w/p), embed_dim]` in row-major order.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        // A stem first: the patches are cut from its feature map (padded, not the image).
        let map = match &self.backbone {
            Some(stem) => stem.forward(images),
            None => images,
        };
        let map = self.pad_to_patches(map);
        let tokens = match &self.proj {
            None => {
                let [b, c, h, w] = map.dims();
                map.reshape([b, c, h * w]).swap_dims(1, 2)
            }
            Some(PatchProjection::Conv(conv)) => {
                // kernel = stride = patch: the convolution is one GEMM of the flattened patches
                // `[B·N, C·p·p]` with the kernel `[D, C·p·p]ᵀ` — no im2col, no per-patch loop.
                let weight = conv.weight.val();
                let [d, c, p, q] = weight.dims();
                let weight = weight.reshape([d, c * p * q]).transpose();
                let bias = conv.bias.as_ref().map(Param::val);
                linear_parts(self.flatten_patches(map), weight, bias)
            }
            Some(PatchProjection::Linear(layer)) => linear(layer, self.flatten_patches(map)),
        };
        maybe_norm(&self.norm, tokens)
    }

    /// With [`Self::dynamic_img_pad`], zeros on the right and bottom of the map (the image, or
    /// the stem's features) up to whole patches.
    fn pad_to_patches(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = images.dims();
        let p = self.patch_size;
        let [gh, gw] = if self.dynamic_img_pad {
            [h.div_ceil(p), w.div_ceil(p)]
        } else {
            [h / p, w / p]
        };
        let [hp, wp] = [gh * self.patch_size, gw * self.patch_size];
        if !self.dynamic_img_pad || [hp, wp] == [h, w] {
            return images;
        }
        let device = images.device();
        let mut x = images;
        if hp > h {
            x = Tensor::cat(vec![x, Tensor::zeros([b, c, hp - h, w], &device)], 2);
        }
        if wp > w {
            x = Tensor::cat(vec![x, Tensor::zeros([b, c, hp, wp - w], &device)], 3);
        }
        x
    }

    /// Checks an input shape against this embedding; returns the patch grid `[gh, gw]`.
    pub fn check_input(&self, shape: [usize; 4]) -> Result<[usize; 2]> {
        let [_, c, h, w] = shape;
        if c != self.in_chans {
            return Err(VitError::InputShape {
                expected: format!("[batch, {}, height, width]", self.in_chans),
                found: shape.to_vec(),
            });
        }
        if self.dynamic_img_pad && h > 0 && w > 0 {
            return Ok(self.grid_for([h, w]));
        }
        if self.crop_remainder && [h, w] == self.img_size {
            return patch_grid_floor(self.feature_size([h, w]), self.patch_size);
        }
        patch_grid(self.feature_size([h, w]), self.patch_size)
    }

    /// [`Self::check_input`], and unless `any_size`, that the image is exactly the built size;
    /// `hint` ends the error (how to run other sizes, when the model can).
    pub fn check_size(&self, shape: [usize; 4], any_size: bool, hint: &str) -> Result<()> {
        self.check_input(shape)?;
        let [_, c, h, w] = shape;
        let [eh, ew] = self.img_size;
        if !any_size && [h, w] != [eh, ew] {
            return Err(VitError::InputShape {
                expected: format!(
                    "[batch, {c}, {eh}, {ew}] (the size the model was built for{hint})"
                ),
                found: shape.to_vec(),
            });
        }
        Ok(())
    }

    /// The patch grid `[rows, cols]` of an input `[height, width]` (partial patches count
    /// with [`Self::dynamic_img_pad`]).
    pub fn grid_for(&self, size: [usize; 2]) -> [usize; 2] {
        let [h, w] = self.feature_size(size);
        let p = self.patch_size;
        if self.dynamic_img_pad {
            [h.div_ceil(p), w.div_ceil(p)]
        } else {
            [h / p, w / p]
        }
    }

    /// Rearranges `[B, C, H, W]` into `[B, N, C·p·p]`, each row one patch flattened as `(c, y, x)`
    /// — the order of a Conv2d weight `[D, C, p, p]`, which makes the two forms interchangeable.
    pub fn flatten_patches(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, c, h, w] = images.dims();
        let p = self.patch_size;
        let (gh, gw) = (h / p, w / p);
        // Pixels past the last whole patch are dropped, as by a strided convolution.
        let images = if [gh * p, gw * p] == [h, w] {
            images
        } else {
            images.slice([0..b, 0..c, 0..gh * p, 0..gw * p])
        };
        images
            .reshape([b, c, gh, p, gw, p])
            .permute([0, 2, 4, 1, 3, 5])
            .reshape([b, gh * gw, c * p * p])
    }

    /// The linear filters applied to image patches, whichever form holds them; an error saying
    /// why when there are none (a hybrid's CNN stem comes first: its patches are feature-map
    /// cells, not pixels; or there is no projection).
    pub fn linear_filters(&self) -> Result<PatchFilters> {
        let unsupported = |family: &str, reason: &str| VitError::Unsupported {
            operation: "a PCA of linear patch-embedding filters".into(),
            family: family.into(),
            reason: reason.into(),
        };
        if self.backbone.is_some() {
            return Err(unsupported(
                "hybrid",
                "a CNN stem reads the pixels first, so the projection's filters act on \
                 feature-map cells, not on image patches (the stem's first convolution plays the \
                 part of a CNN's first-layer filters)",
            ));
        }
        let (weight, c) = match &self.proj {
            None => {
                return Err(unsupported(
                    "projection-free",
                    "the model has no patch projection",
                ));
            }
            Some(PatchProjection::Conv(conv)) => {
                let weight = conv.weight.val();
                let [d, c, p, q] = weight.dims();
                (weight.reshape([d, c * p * q]), c)
            }
            // Burn's Linear stores [in, out], the input flattened as (c, y, x).
            Some(PatchProjection::Linear(linear)) => {
                let weight = linear.weight.val().transpose();
                let [_, inputs] = weight.dims();
                (weight, inputs / (self.patch_size * self.patch_size))
            }
        };
        let [filters, _] = weight.dims();
        let weights = weight
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| unsupported("this", &format!("{e:?}")))?;
        Ok(PatchFilters {
            weights,
            filters,
            channels: c,
            patch: [self.patch_size; 2],
        })
    }

    /// The same embedding in the "flatten + Linear" form, holding exactly this module's numbers.
    pub fn to_linear(self) -> Self {
        let proj = self.proj.map(|proj| match proj {
            PatchProjection::Conv(conv) => {
                let weight = conv.weight.val();
                let [d, c, p, q] = weight.dims();
                let mut linear = LinearConfig::new(c * p * q, d)
                    .with_bias(conv.bias.is_some())
                    .init(&weight.device());
                // Conv [D, C·p·p] is PyTorch's Linear layout; Burn's Linear stores [in, out].
                linear.weight = Param::from_tensor(weight.reshape([d, c * p * q]).transpose());
                linear.bias = conv.bias.map(|b| Param::from_tensor(b.val()));
                PatchProjection::Linear(linear)
            }
            linear => linear,
        });
        Self { proj, ..self }
    }
}
