//! The configuration of timm's `VisionTransformerRelPos` (ViT with a relative position MLP,
//! `vision_transformer_relpos.py`): timm's own argument names and defaults, translated to the ViT
//! it builds.

use burn::config::Config;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::layers::activation::Activation;
use vit_core::layers::block::BlockKind;
use vit_core::layers::norm::NormKind;
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::pos_embed::PosEmbedKind;
use vit_core::layers::rel_pos::{RelPosConfig, RelPosKind, RelPosMlpMode};
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_core::{VisionTransformer, VisionTransformerConfig};

/// The family name ViT-relpos models carry in a saved model card.
pub const RELPOS_FAMILY: &str = "vit_relpos";

/// Configuration of a timm `VisionTransformerRelPos`, with timm's argument names and defaults;
/// built as a [`VisionTransformer`] with a relative position MLP on the scores ([`Self::vit`]).
/// `architecture` is timm's entrypoint name, kept for exporting back to timm.
#[derive(Config, Debug, PartialEq)]
pub struct VitRelPosConfig {
    /// timm's architecture name this config was built from (e.g. `vit_relpos_base_patch16_224`).
    #[config(default = "String::new()")]
    pub architecture: String,
    /// Input image size `[height, width]`.
    #[config(default = "[224, 224]")]
    pub img_size: [usize; 2],
    /// Patch side in pixels.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Classifier outputs (0: none).
    #[config(default = 1000)]
    pub num_classes: usize,
    /// Pooling: `avg` (over the patches) or `token` (needs `class_token`).
    #[config(default = "GlobalPool::Avg")]
    pub global_pool: GlobalPool,
    /// Token dimension.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads.
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden width over `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Norms on each head's queries and keys.
    #[config(default = false)]
    pub qk_norm: bool,
    /// LayerScale initial value (`ls1`/`ls2`; the norms' scales in post-norm blocks).
    #[config(default = "Some(1e-6)")]
    pub init_values: Option<f64>,
    /// A class token (no relative bias to or from it).
    #[config(default = false)]
    pub class_token: bool,
    /// The norm after pooling instead of after the blocks.
    #[config(default = false)]
    pub fc_norm: bool,
    /// `mlp` (timm's `cr` log-coordinates) or `mlp_swin` (Swin V2's); timm's `bias` table has no
    /// pretrained weights and is not supported.
    #[config(default = "String::from(\"mlp\")")]
    pub rel_pos_type: String,
    /// Hidden width of the relative position MLP; `None`: 128.
    #[config(default = "None")]
    pub rel_pos_dim: Option<usize>,
    /// One relative position MLP for all blocks instead of one per block.
    #[config(default = false)]
    pub shared_rel_pos: bool,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of the last block.
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// The norm of every norm layer.
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// Its epsilon (timm: `LayerNorm(eps=1e-6)`).
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// The MLP's activation.
    #[config(default = "Activation::Gelu")]
    pub act_layer: Activation,
    /// `block` (`RelPosBlock`, pre-norm) or `res_post_block` (`ResPostRelPosBlock`).
    #[config(default = "BlockKind::Block")]
    pub block_fn: BlockKind,
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl VitRelPosConfig {
    /// The ViT this config builds: no absolute position embedding, a relative position MLP in
    /// every block (or shared), timm's pooling and norms. Options this implementation lacks are
    /// errors naming them.
    pub fn vit(&self) -> Result<VisionTransformerConfig> {
        let mode = match self.rel_pos_type.as_str() {
            "mlp" => RelPosMlpMode::Cr,
            "mlp_swin" => RelPosMlpMode::Swin,
            other => {
                return Err(invalid(
                    "rel_pos_type",
                    format!("{other:?} is not supported (mlp or mlp_swin)"),
                ));
            }
        };
        if !matches!(self.global_pool, GlobalPool::Avg | GlobalPool::Token) {
            return Err(invalid(
                "global_pool",
                format!("{:?} is not supported (avg or token)", self.global_pool),
            ));
        }
        if !matches!(self.block_fn, BlockKind::Block | BlockKind::ResPostBlock) {
            return Err(invalid(
                "block_fn",
                "ViT-relpos blocks are `block` or `res_post_block`",
            ));
        }
        let rel_pos = RelPosConfig::new()
            .with_kind(RelPosKind::Mlp)
            .with_mode(mode)
            .with_hidden_dim(self.rel_pos_dim.unwrap_or(128))
            .with_shared(self.shared_rel_pos);
        let config = VisionTransformerConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_num_classes(self.num_classes)
            .with_embed_dim(self.embed_dim)
            .with_depth(self.depth)
            .with_num_heads(self.num_heads)
            .with_mlp_ratio(self.mlp_ratio)
            .with_qkv_bias(self.qkv_bias)
            .with_qk_norm(self.qk_norm)
            .with_init_values(self.init_values.filter(|v| *v != 0.0))
            .with_class_token(self.class_token)
            .with_pos_embed(PosEmbedKind::None)
            .with_global_pool(self.global_pool)
            .with_fc_norm(Some(self.fc_norm))
            .with_final_norm(true)
            .with_norm_layer(self.norm_layer)
            .with_norm_eps(self.norm_eps)
            .with_act_layer(self.act_layer)
            .with_block_fn(self.block_fn)
            .with_drop_rate(self.drop_rate)
            .with_proj_drop_rate(self.proj_drop_rate)
            .with_attn_drop_rate(self.attn_drop_rate)
            .with_drop_path_rate(self.drop_path_rate)
            .with_rel_pos(Some(rel_pos));
        config.validate()?;
        Ok(config)
    }

    /// Builds the model (a ViT with a relative position MLP).
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.vit()?.try_init(device)
    }
}

impl ModelConfig for VitRelPosConfig {
    crate::timm_family::vit_built_model_config!(RELPOS_FAMILY);

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        // timm's `_cfg` here: Inception mean and std (0.5), bicubic, crop 0.9.
        PretrainedCfg::vit_default(self.in_chans, self.img_size)
    }
}
