//! Patch embedding: cut the image into `patch × patch` squares and project each to `embed_dim`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::error::{Result, VitError};
use crate::layers::linear::{linear, linear_parts};
use crate::layers::norm::{Norm, NormKind, maybe_norm};

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
    /// The projection (timm key `patch_embed.proj`).
    pub proj: PatchProjection<B>,
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
    /// Number of patches along `[height, width]`, or the error naming the sizes that do not fit.
    pub fn grid_size(&self) -> Result<[usize; 2]> {
        if self.crop_remainder {
            patch_grid_floor(self.img_size, self.patch_size)
        } else {
            patch_grid(self.img_size, self.patch_size)
        }
    }

    /// Builds the module, checking the sizes first.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<PatchEmbed<B>> {
        self.grid_size()?;
        let p = self.patch_size;
        // PyTorch's default init for both forms (U(±1/√fan_in)), as timm leaves the patch conv.
        let proj = match self.kind {
            PatchEmbedKind::Conv => PatchProjection::Conv(
                Conv2dConfig::new([self.in_chans, self.embed_dim], [p, p])
                    .with_stride([p, p])
                    .with_bias(self.bias)
                    .init(device),
            ),
            PatchEmbedKind::Linear => PatchProjection::Linear(
                LinearConfig::new(self.in_chans * p * p, self.embed_dim)
                    .with_bias(self.bias)
                    .init(device),
            ),
        };
        let norm = self
            .norm
            .then(|| self.norm_kind.init(self.embed_dim, self.norm_eps, device));
        Ok(PatchEmbed {
            proj,
            norm,
            patch_size: p,
            in_chans: self.in_chans,
            img_size: self.img_size,
            dynamic_img_pad: self.dynamic_img_pad,
            crop_remainder: self.crop_remainder,
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
    /// Token width (`embed_dim`), read off the projection's shape without drawing its weights.
    pub fn embed_dim(&self) -> usize {
        match &self.proj {
            PatchProjection::Conv(conv) => conv.weight.lazy_shape()[0],
            PatchProjection::Linear(linear) => linear.weight.lazy_shape()[1],
        }
    }

    /// Embeds the patches. Input `[batch, in_chans, height, width]` with sides that are
    /// multiples of the patch size; output `[batch, (h/p)·(w/p), embed_dim]` in row-major order.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let images = self.pad_to_patches(images);
        let tokens = match &self.proj {
            PatchProjection::Conv(conv) => {
                // kernel = stride = patch: the convolution is one GEMM of the flattened patches
                // `[B·N, C·p·p]` with the kernel `[D, C·p·p]ᵀ` — no im2col, no per-patch loop.
                let weight = conv.weight.val();
                let [d, c, p, q] = weight.dims();
                let weight = weight.reshape([d, c * p * q]).transpose();
                let bias = conv.bias.as_ref().map(Param::val);
                linear_parts(self.flatten_patches(images), weight, bias)
            }
            PatchProjection::Linear(layer) => linear(layer, self.flatten_patches(images)),
        };
        maybe_norm(&self.norm, tokens)
    }

    /// With [`Self::dynamic_img_pad`], zeros on the right and bottom up to whole patches.
    fn pad_to_patches(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = images.dims();
        let [gh, gw] = self.grid_for([h, w]);
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
            return patch_grid_floor([h, w], self.patch_size);
        }
        patch_grid([h, w], self.patch_size)
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
    pub fn grid_for(&self, [h, w]: [usize; 2]) -> [usize; 2] {
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

    /// The same embedding in the "flatten + Linear" form, holding exactly this module's numbers.
    pub fn to_linear(self) -> Self {
        let proj = match self.proj {
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
        };
        Self { proj, ..self }
    }
}
