//! The ViT presets: every architecture of timm's ViT family that vit-core builds, by timm's
//! name, with timm's exact parameter count — read from the generated catalogue
//! ([`crate::vit::catalogue`]), which also writes a typed constructor for each
//! (`VisionTransformerConfig::vit_base_patch14_reg4_dinov2()`).

use crate::error::Result;
use crate::vit::VisionTransformerConfig;
use crate::vit::catalogue::VIT_ARCHITECTURES;

/// A ViT config at `img`×`img` with the given patch size, width, depth and heads (timm's other
/// defaults: MLP ratio 4, qkv bias, class token, 1000 classes).
pub fn vit_config(
    patch: usize,
    dim: usize,
    depth: usize,
    heads: usize,
    img: usize,
) -> VisionTransformerConfig {
    VisionTransformerConfig::new()
        .with_img_size([img, img])
        .with_patch_size(patch)
        .with_embed_dim(dim)
        .with_depth(depth)
        .with_num_heads(heads)
}

/// Every catalogued ViT-family architecture vit-core can build (ViT, DeiT, DeiT III, DINOv2,
/// CLIP, SigLIP, AIMv2…) with its config, in catalogue order.
pub fn vit_presets() -> impl Iterator<Item = (&'static str, VisionTransformerConfig)> {
    VIT_ARCHITECTURES
        .iter()
        .filter_map(|a| a.config().ok().map(|config| (a.name, config)))
}

impl VisionTransformerConfig {
    /// The preset named `name` (timm's architecture name); the error names the closest names,
    /// or the timm argument a catalogued architecture needs that vit-core lacks.
    pub fn preset(name: &str) -> Result<Self> {
        Self::architecture(name)
    }
}
