//! Swin presets with timm's architecture names and exact parameter counts: each a typed
//! constructor (`SwinTransformerConfig::swin_tiny_patch4_window7_224()`) and a row of
//! [`SWIN_PRESETS`], both made from the one table below.

use crate::swin::model::SwinTransformerConfig;

/// A Swin config: width of the first stage, blocks and heads per stage, window side, image side
/// (timm's other defaults: patch 4, MLP ratio 4, qkv bias, 1000 classes).
pub fn swin_config(
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

/// A named preset: timm's architecture name and the constructor of its config.
pub type SwinPreset = (&'static str, fn() -> SwinTransformerConfig);

macro_rules! swin_presets {
    ($($name:ident = ($dim:expr, $depths:expr, $heads:expr, $window:expr, $img:expr);)*) => {
        impl SwinTransformerConfig {
            $(
                #[doc = concat!("timm's `", stringify!($name), "`: width ", stringify!($dim),
                    ", depths ", stringify!($depths), ", heads ", stringify!($heads), ", window ",
                    stringify!($window), ", ", stringify!($img), "².")]
                pub fn $name() -> Self {
                    swin_config($dim, $depths, $heads, $window, $img)
                }
            )*
        }

        /// Every Swin preset, smallest first.
        pub const SWIN_PRESETS: &[SwinPreset] = &[
            $((stringify!($name), SwinTransformerConfig::$name),)*
        ];
    };
}

swin_presets! {
    swin_tiny_patch4_window7_224 = (96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 224);
    swin_small_patch4_window7_224 = (96, [2, 2, 18, 2], [3, 6, 12, 24], 7, 224);
    swin_base_patch4_window7_224 = (128, [2, 2, 18, 2], [4, 8, 16, 32], 7, 224);
    swin_base_patch4_window12_384 = (128, [2, 2, 18, 2], [4, 8, 16, 32], 12, 384);
    swin_large_patch4_window7_224 = (192, [2, 2, 18, 2], [6, 12, 24, 48], 7, 224);
    swin_large_patch4_window12_384 = (192, [2, 2, 18, 2], [6, 12, 24, 48], 12, 384);
}
