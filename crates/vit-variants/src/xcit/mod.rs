//! timm's `xcit.py` — XCiT (El-Nouby et al. 2021): cross-covariance attention across channels,
//! a local patch interaction of depthwise convolutions, a convolutional patch embedding, Fourier
//! position features, then CaiT's class attention
//! ([`vit_core::layers::class_attention`]). [`XcitConfig`] holds timm's `Xcit` arguments under
//! timm's names, [`model`] the model, [`catalogue`] timm's pretrained architectures.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;
pub mod model;

pub use catalogue::{XCIT_ARCHITECTURES, XcitArchitecture, xcit_architecture};
pub use config::{XCIT_FAMILY, XcitConfig};
pub use model::Xcit;
