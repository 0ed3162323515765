//! The configuration of timm's `Beit` (BEiT, BEiT v2): timm's own argument names and defaults,
//! translated to the ViT it builds.

use burn::config::Config;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::layers::activation::Activation;
use vit_core::layers::mlp::MlpKind;
use vit_core::layers::norm::NormKind;
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::pos_embed::PosEmbedKind;
use vit_core::layers::rel_pos::{RelPosConfig, RelPosKind};
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_core::{VisionTransformer, VisionTransformerConfig};

/// The family name BEiT models carry in a saved model card.
pub const BEIT_FAMILY: &str = "beit";

/// Configuration of a timm `Beit` model, with timm's argument names and defaults (`beit.py`);
/// built as a [`VisionTransformer`] with BEiT's relative position tables ([`Self::vit`]).
/// `architecture` is timm's entrypoint name, kept for exporting back to timm.
#[derive(Config, Debug, PartialEq)]
pub struct BeitConfig {
    /// timm's architecture name this config was built from (e.g. `beit_base_patch16_224`).
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
    /// Pooling: `avg` (over the patches) or `token` (the class token).
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
    /// Learned query and value biases (the key has none: keys `q_bias`, `v_bias`).
    #[config(default = true)]
    pub qkv_bias: bool,
    /// MLP hidden width over `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// SwiGLU MLP (SiLU gate, keys `fc1_g`/`fc1_x`).
    #[config(default = false)]
    pub swiglu_mlp: bool,
    /// A norm on the MLP's hidden activation.
    #[config(default = false)]
    pub scale_mlp: bool,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the position embedding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Dropout after the projections.
    #[config(default = 0.0)]
    pub proj_drop_rate: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop_rate: f64,
    /// Stochastic depth of the last block.
    #[config(default = 0.0)]
    pub drop_path_rate: f64,
    /// The norm of every norm layer (timm's `norm_layer`).
    #[config(default = "NormKind::LayerNorm")]
    pub norm_layer: NormKind,
    /// Its epsilon (timm's `LayerNorm` default: 1e-6).
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// LayerScale initial value (`gamma_1`/`gamma_2`); `None`: none.
    #[config(default = "None")]
    pub init_values: Option<f64>,
    /// A learned absolute position embedding.
    #[config(default = true)]
    pub use_abs_pos_emb: bool,
    /// A relative position table in every block's attention.
    #[config(default = false)]
    pub use_rel_pos_bias: bool,
    /// One relative position table shared by every block (`rel_pos_bias`).
    #[config(default = false)]
    pub use_shared_rel_pos_bias: bool,
    /// The norm after pooling instead of after the blocks; `None`: with average pooling.
    #[config(default = "None")]
    pub use_fc_norm: Option<bool>,
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl BeitConfig {
    /// The ViT this config builds: timm's `Beit` forward is the ViT's with a class token, BEiT's
    /// relative position tables on the scores (per block or shared), the zero key bias folded
    /// into one `qkv` bias and LayerScale `gamma_*` as `ls*`. Options this implementation lacks
    /// are errors naming them.
    pub fn vit(&self) -> Result<VisionTransformerConfig> {
        if !matches!(self.global_pool, GlobalPool::Avg | GlobalPool::Token) {
            return Err(invalid(
                "global_pool",
                format!(
                    "{:?} is not one of BEiT's poolings (avg, token)",
                    self.global_pool
                ),
            ));
        }
        if self.use_rel_pos_bias && self.use_shared_rel_pos_bias {
            return Err(invalid(
                "use_shared_rel_pos_bias",
                "a shared table beside per-block tables is not supported (no pretrained BEiT \
                 uses both)",
            ));
        }
        let rel_pos = (self.use_rel_pos_bias || self.use_shared_rel_pos_bias).then(|| {
            RelPosConfig::new()
                .with_kind(RelPosKind::Table)
                .with_shared(self.use_shared_rel_pos_bias)
        });
        let fc_norm = self
            .use_fc_norm
            .unwrap_or(self.global_pool == GlobalPool::Avg);
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
            .with_zero_k_bias(true)
            .with_init_values(self.init_values.filter(|v| *v != 0.0))
            .with_class_token(true)
            .with_pos_embed(if self.use_abs_pos_emb {
                PosEmbedKind::Learn
            } else {
                PosEmbedKind::None
            })
            .with_global_pool(self.global_pool)
            .with_fc_norm(Some(fc_norm))
            .with_final_norm(true)
            .with_norm_layer(self.norm_layer)
            .with_norm_eps(self.norm_eps)
            .with_mlp_kind(if self.swiglu_mlp {
                MlpKind::Swiglu
            } else {
                MlpKind::Mlp
            })
            .with_act_layer(if self.swiglu_mlp {
                Activation::Silu
            } else {
                Activation::Gelu
            })
            .with_scale_mlp_norm(self.scale_mlp)
            .with_drop_rate(self.drop_rate)
            .with_pos_drop_rate(self.pos_drop_rate)
            .with_proj_drop_rate(self.proj_drop_rate)
            .with_attn_drop_rate(self.attn_drop_rate)
            .with_drop_path_rate(self.drop_path_rate)
            .with_rel_pos(rel_pos);
        config.validate()?;
        Ok(config)
    }

    /// Builds the model (a ViT with relative position tables).
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.vit()?.try_init(device)
    }
}

impl ModelConfig for BeitConfig {
    crate::timm_family::vit_built_model_config!(BEIT_FAMILY);

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        // timm's `_cfg` for BEiT: mean and std 0.5, bicubic, crop 0.9 (BEiT v2 tags say ImageNet's).
        PretrainedCfg::vit_default(self.in_chans, self.img_size)
    }
}
