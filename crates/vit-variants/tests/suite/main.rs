//! vit-variants' tests, one binary: timm parity of every family, the zoo registry, Swin's
//! windows, attention extraction. The backend is vit-testing's (ndarray, or flex/wgpu).

mod inspect;
mod timm_parity;
