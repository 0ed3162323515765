//! # vit-variants
//!
//! The zoo beyond the plain ViT, for Burn: Swin Transformer ([`swin`]) built from vit-core's
//! layers with timm's structure, parameter names and presets, timm's rotary `eva.py` family
//! ([`eva`]: EVA-02, DINOv3, PE, RoPE-ViT as ViTs with rotary embeddings), NaFlexViT at fixed
//! resolution ([`naflex`]: SigLIP2 NaFlex, C-RADIO), BEiT ([`beit`]) and ViT-relpos ([`relpos`])
//! as ViTs with relative position biases, CaiT ([`cait`]) and XCiT ([`xcit`]) as models of
//! their own, and the zoo itself ([`zoo`]:
//! [`ZooConfig`] / [`ZooModel`], any family behind one type; [`registry`]: every preset by
//! timm's name). DeiT, distilled or not, and DeiT III are ViT configurations in vit-core.

#![warn(missing_docs)]

pub mod beit;
pub mod cait;
pub mod catalogue;
pub mod eva;
pub mod hub_names;
mod late_class_token;
pub mod naflex;
pub mod pretrained_tags;
pub mod registry;
pub mod relpos;
pub mod swin;
pub mod timm_architecture;
mod timm_family;
pub mod xcit;
pub mod zoo;

pub use beit::BeitConfig;
pub use cait::CaitConfig;
pub use catalogue::{catalogue, load_named, model_location};
pub use eva::EvaConfig;
pub use naflex::NaflexConfig;
pub use registry::{zoo_preset, zoo_presets};
pub use relpos::VitRelPosConfig;
pub use swin::{SwinTransformer, SwinTransformerConfig};
pub use xcit::XcitConfig;
pub use zoo::{PretrainedModel, ZooConfig, ZooModel};
