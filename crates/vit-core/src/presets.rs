//! Named model presets with timm's architecture names and exact parameter counts.

use crate::error::{Result, VitError};
use crate::vit::VisionTransformerConfig;

/// A named, ready-made model configuration.
#[derive(Debug, Clone)]
pub struct Preset {
    /// timm's architecture name, e.g. `vit_base_patch16_224`.
    pub name: &'static str,
    /// The configuration, as `timm.create_model(name)` builds it (1000 classes, except
    /// `vit_huge_patch14_224`, whose timm default is the head-less 21k feature extractor).
    pub config: VisionTransformerConfig,
}

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

/// Every ViT preset, smallest first.
pub fn vit_presets() -> Vec<Preset> {
    let p = |name, config| Preset { name, config };
    vec![
        p("vit_tiny_patch16_224", vit_config(16, 192, 12, 3, 224)),
        p("vit_tiny_patch16_384", vit_config(16, 192, 12, 3, 384)),
        p("vit_small_patch32_224", vit_config(32, 384, 12, 6, 224)),
        p("vit_small_patch16_224", vit_config(16, 384, 12, 6, 224)),
        p("vit_small_patch16_384", vit_config(16, 384, 12, 6, 384)),
        p("vit_base_patch32_224", vit_config(32, 768, 12, 12, 224)),
        p("vit_base_patch16_224", vit_config(16, 768, 12, 12, 224)),
        p("vit_base_patch16_384", vit_config(16, 768, 12, 12, 384)),
        p("vit_base_patch8_224", vit_config(8, 768, 12, 12, 224)),
        p("vit_large_patch16_224", vit_config(16, 1024, 24, 16, 224)),
        // timm's only ViT-H/14 weights are the ImageNet-21k feature extractor: no head.
        p(
            "vit_huge_patch14_224",
            vit_config(14, 1280, 32, 16, 224).with_num_classes(0),
        ),
    ]
}

/// Looks a preset up by name; the error lists every name.
pub fn vit_preset(name: &str) -> Result<VisionTransformerConfig> {
    let presets = vit_presets();
    presets
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.config.clone())
        .ok_or_else(|| VitError::UnknownPreset {
            name: name.to_string(),
            available: presets.iter().map(|p| p.name.to_string()).collect(),
        })
}
