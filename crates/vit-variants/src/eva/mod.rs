//! timm's `eva.py` family — EVA, EVA-02, DINOv3, Meta's Perception Encoder, Naver's RoPE-ViT,
//! LingBot-Vision — as vit-core ViTs with rotary position embeddings
//! ([`vit_core::layers::rope`]): [`EvaConfig`] holds timm's `Eva` arguments under timm's names,
//! [`import`] maps timm's Eva key layout onto the ViT's, [`catalogue`] lists timm's pretrained
//! architectures.

mod architectures;
pub mod catalogue;
pub mod config;
pub mod import;

pub use catalogue::{EVA_ARCHITECTURES, EvaArchitecture, eva_architecture};
pub use config::{EVA_FAMILY, EvaAttnType, EvaConfig};
