//! DeiT and Swin presets with timm's architecture names and exact parameter counts.

use vit_core::VisionTransformerConfig;
use vit_core::presets::{vit_config, vit_preset};

use crate::deit::DeitConfig;
use crate::swin::SwinTransformerConfig;

/// A named DeiT or Swin configuration.
#[derive(Debug, Clone)]
pub enum VariantPreset {
    /// A DeiT without distillation or a DeiT III: a plain ViT.
    Vit(&'static str, VisionTransformerConfig),
    /// A distilled DeiT.
    Deit(&'static str, DeitConfig),
    /// A Swin Transformer.
    Swin(&'static str, SwinTransformerConfig),
}

impl VariantPreset {
    /// timm's architecture name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Vit(name, _) | Self::Deit(name, _) | Self::Swin(name, _) => name,
        }
    }
}

/// DeiT III: no position embedding for the class token, LayerScale 1e-6.
fn deit3(
    patch: usize,
    dim: usize,
    depth: usize,
    heads: usize,
    img: usize,
) -> VisionTransformerConfig {
    vit_config(patch, dim, depth, heads, img)
        .with_no_embed_class(true)
        .with_init_values(Some(1e-6))
}

fn swin(
    dim: usize,
    depths: [usize; 4],
    heads: [usize; 4],
    window: usize,
    img: usize,
) -> SwinTransformerConfig {
    SwinTransformerConfig::new()
        .with_img_size([img, img])
        .with_embed_dim(dim)
        .with_depths(depths.to_vec())
        .with_num_heads(heads.to_vec())
        .with_window_size(window)
}

/// Every DeiT and Swin preset.
pub fn variant_presets() -> Vec<VariantPreset> {
    use VariantPreset::{Deit, Swin, Vit};
    let tiny = || vit_preset("vit_tiny_patch16_224").expect("preset");
    let small = || vit_preset("vit_small_patch16_224").expect("preset");
    let base = || vit_preset("vit_base_patch16_224").expect("preset");
    let distilled = |vit: VisionTransformerConfig| DeitConfig::new(vit);
    vec![
        Vit("deit_tiny_patch16_224", tiny()),
        Vit("deit_small_patch16_224", small()),
        Vit("deit_base_patch16_224", base()),
        Vit("deit_base_patch16_384", base().with_img_size([384, 384])),
        Deit("deit_tiny_distilled_patch16_224", distilled(tiny())),
        Deit("deit_small_distilled_patch16_224", distilled(small())),
        Deit("deit_base_distilled_patch16_224", distilled(base())),
        Deit(
            "deit_base_distilled_patch16_384",
            distilled(base().with_img_size([384, 384])),
        ),
        Vit("deit3_small_patch16_224", deit3(16, 384, 12, 6, 224)),
        Vit("deit3_small_patch16_384", deit3(16, 384, 12, 6, 384)),
        Vit("deit3_medium_patch16_224", deit3(16, 512, 12, 8, 224)),
        Vit("deit3_base_patch16_224", deit3(16, 768, 12, 12, 224)),
        Vit("deit3_base_patch16_384", deit3(16, 768, 12, 12, 384)),
        Vit("deit3_large_patch16_224", deit3(16, 1024, 24, 16, 224)),
        Vit("deit3_large_patch16_384", deit3(16, 1024, 24, 16, 384)),
        Vit("deit3_huge_patch14_224", deit3(14, 1280, 32, 16, 224)),
        Swin(
            "swin_tiny_patch4_window7_224",
            swin(96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 224),
        ),
        Swin(
            "swin_small_patch4_window7_224",
            swin(96, [2, 2, 18, 2], [3, 6, 12, 24], 7, 224),
        ),
        Swin(
            "swin_base_patch4_window7_224",
            swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 7, 224),
        ),
        Swin(
            "swin_base_patch4_window12_384",
            swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 12, 384),
        ),
        Swin(
            "swin_large_patch4_window7_224",
            swin(192, [2, 2, 18, 2], [6, 12, 24, 48], 7, 224),
        ),
        Swin(
            "swin_large_patch4_window12_384",
            swin(192, [2, 2, 18, 2], [6, 12, 24, 48], 12, 384),
        ),
    ]
}
