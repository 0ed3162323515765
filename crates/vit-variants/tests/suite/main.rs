//! vit-variants' tests, one binary: timm parity of every family, the zoo registry, Swin's window
//! arithmetic, attention extraction. The backend is vit-testing's (ndarray, or flex/wgpu).

mod backbone;
mod class_attention;
mod eva;
mod hub_names;
mod inspect;
mod naflex;
mod precision;
mod registry;
mod relpos;
mod swin_windows;
mod timm_case;
mod timm_export;
mod timm_parity;
