//! Typed constructors for timm's Swin V1 architectures
//! (`SwinTransformerConfig::swin_tiny_patch4_window7_224()`), read from the generated catalogue
//! ([`crate::swin::catalogue`]) — the one place their numbers are written.

use crate::swin::catalogue::swin_architecture;
use crate::swin::model::SwinTransformerConfig;

macro_rules! swin_presets {
    ($($name:ident),* $(,)?) => {
        impl SwinTransformerConfig {
            $(
                #[doc = concat!("timm's `", stringify!($name), "` (from the catalogue).")]
                pub fn $name() -> Self {
                    Self::catalogued(stringify!($name))
                }
            )*
        }
    };
}

impl SwinTransformerConfig {
    /// The catalogue's config of timm's Swin architecture `name`.
    ///
    /// # Panics
    /// If `name` is not in the catalogue (the typed constructors only name catalogued ones).
    pub fn catalogued(name: &str) -> Self {
        swin_architecture(name)
            .and_then(|a| a.config().ok())
            .unwrap_or_else(|| panic!("{name} is a catalogued Swin architecture"))
    }
}

swin_presets! {
    swin_tiny_patch4_window7_224,
    swin_small_patch4_window7_224,
    swin_base_patch4_window7_224,
    swin_base_patch4_window12_384,
    swin_large_patch4_window7_224,
    swin_large_patch4_window12_384,
}
