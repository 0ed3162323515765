//! The layers every model of the zoo is built from, as timm's `timm/layers`: each a `*Config`
//! (serde, `init(&device)`) and a `Module`, re-exported here flat as burn-nn does.

pub mod activation;
pub mod attention;
pub mod batch_norm;
pub mod block;
pub mod class_attention;
pub mod diff_attention;
pub mod drop_path;
pub mod group_norm;
pub mod init;
pub mod layer_scale;
pub mod linear;
pub mod mlp;
pub mod norm;
pub mod parallel_block;
pub mod patch_embed;
pub mod pooling;
pub mod pos_embed;
pub mod rel_pos;
pub mod rel_pos_bias;
pub mod resample;
pub mod rope;
pub mod same_pad;
pub mod std_conv;
pub mod stems;

pub use activation::Activation;
pub use attention::{
    ATTENTION_ENV_VAR, Attention, AttentionConfig, AttentionPath, set_preferred_attention,
};
pub use block::{AttnLayer, Block, BlockAttention, BlockConfig, BlockKind, EncoderBlock};
pub use drop_path::DropPath;
pub use layer_scale::LayerScale;
pub use linear::linear;
pub use mlp::{Mlp, MlpConfig, MlpKind};
pub use norm::{LayerNorm, LayerNormConfig, Norm, NormKind, RmsNorm, RmsNormConfig};
pub use patch_embed::{PatchEmbed, PatchEmbedConfig, PatchEmbedKind};
pub use pooling::{AttentionPool, AttentionPoolConfig, GlobalPool};
pub use pos_embed::PosEmbedKind;
pub use rope::{GridIndexing, Rope, RopeConfig, RopeKind, RopeTable};
