//! Named ViT configurations — ViT, DeiT (with and without distillation) and DeiT III — with
//! timm's architecture names and exact parameter counts. Each is a typed constructor
//! (`VisionTransformerConfig::vit_small_patch16_224()`) and a row of [`VIT_PRESETS`], both made
//! from the one table below.

use crate::error::{Result, VitError};
use crate::vit::VisionTransformerConfig;

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

/// DeiT with distillation: a second prefix token and head.
fn distilled(config: VisionTransformerConfig) -> VisionTransformerConfig {
    config.with_distilled(true)
}

/// DeiT III: no position embedding for the class token, LayerScale 1e-6.
fn deit3(config: VisionTransformerConfig) -> VisionTransformerConfig {
    config
        .with_no_embed_class(true)
        .with_init_values(Some(1e-6))
}

/// timm's only ViT-H/14 weights are the ImageNet-21k feature extractor: no head.
fn headless(config: VisionTransformerConfig) -> VisionTransformerConfig {
    config.with_num_classes(0)
}

/// A named preset: timm's architecture name and the constructor of its config.
pub type VitPreset = (&'static str, fn() -> VisionTransformerConfig);

macro_rules! vit_presets {
    ($($name:ident = $config:expr;)*) => {
        impl VisionTransformerConfig {
            $(
                #[doc = concat!("timm's `", stringify!($name), "`: `", stringify!($config), "`.")]
                pub fn $name() -> Self {
                    $config
                }
            )*
        }

        /// Every ViT-family preset (ViT, DeiT, DeiT III), smallest first within each family.
        pub const VIT_PRESETS: &[VitPreset] = &[
            $((stringify!($name), VisionTransformerConfig::$name),)*
        ];
    };
}

// `vit_config(patch, dim, depth, heads, img)`.
vit_presets! {
    vit_tiny_patch16_224 = vit_config(16, 192, 12, 3, 224);
    vit_tiny_patch16_384 = vit_config(16, 192, 12, 3, 384);
    vit_small_patch32_224 = vit_config(32, 384, 12, 6, 224);
    vit_small_patch16_224 = vit_config(16, 384, 12, 6, 224);
    vit_small_patch16_384 = vit_config(16, 384, 12, 6, 384);
    vit_base_patch32_224 = vit_config(32, 768, 12, 12, 224);
    vit_base_patch16_224 = vit_config(16, 768, 12, 12, 224);
    vit_base_patch16_384 = vit_config(16, 768, 12, 12, 384);
    vit_base_patch8_224 = vit_config(8, 768, 12, 12, 224);
    vit_large_patch16_224 = vit_config(16, 1024, 24, 16, 224);
    vit_huge_patch14_224 = headless(vit_config(14, 1280, 32, 16, 224));
    deit_tiny_patch16_224 = vit_config(16, 192, 12, 3, 224);
    deit_small_patch16_224 = vit_config(16, 384, 12, 6, 224);
    deit_base_patch16_224 = vit_config(16, 768, 12, 12, 224);
    deit_base_patch16_384 = vit_config(16, 768, 12, 12, 384);
    deit_tiny_distilled_patch16_224 = distilled(vit_config(16, 192, 12, 3, 224));
    deit_small_distilled_patch16_224 = distilled(vit_config(16, 384, 12, 6, 224));
    deit_base_distilled_patch16_224 = distilled(vit_config(16, 768, 12, 12, 224));
    deit_base_distilled_patch16_384 = distilled(vit_config(16, 768, 12, 12, 384));
    deit3_small_patch16_224 = deit3(vit_config(16, 384, 12, 6, 224));
    deit3_small_patch16_384 = deit3(vit_config(16, 384, 12, 6, 384));
    deit3_medium_patch16_224 = deit3(vit_config(16, 512, 12, 8, 224));
    deit3_base_patch16_224 = deit3(vit_config(16, 768, 12, 12, 224));
    deit3_base_patch16_384 = deit3(vit_config(16, 768, 12, 12, 384));
    deit3_large_patch16_224 = deit3(vit_config(16, 1024, 24, 16, 224));
    deit3_large_patch16_384 = deit3(vit_config(16, 1024, 24, 16, 384));
    deit3_huge_patch14_224 = deit3(vit_config(14, 1280, 32, 16, 224));
}
impl VisionTransformerConfig {
    /// The preset named `name` (timm's architecture name); the error lists every name.
    pub fn preset(name: &str) -> Result<Self> {
        VIT_PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, build)| build())
            .ok_or_else(|| VitError::UnknownPreset {
                name: name.to_string(),
                available: VIT_PRESETS.iter().map(|(n, _)| n.to_string()).collect(),
            })
    }
}
