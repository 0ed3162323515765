//! The configuration of timm's `Eva` (EVA, EVA-02, DINOv3, Perception Encoder, RoPE-ViT,
//! LingBot-Vision): timm's own argument names and defaults, translated to the ViT it builds.

use burn::config::Config;
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::layers::activation::Activation;
use vit_core::layers::block::BlockKind;
use vit_core::layers::mlp::{MlpKind, mlp_hidden};
use vit_core::layers::norm::NormKind;
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::pos_embed::PosEmbedKind;
use vit_core::layers::rope::{GridIndexing, RopeConfig, RopeKind};
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_core::{VisionTransformer, VisionTransformerConfig};

/// The family name Eva models carry in a saved model card.
pub const EVA_FAMILY: &str = "eva";

/// timm's `Eva` attention class (`attn_type`), which decides the key layout of the q/k/v biases.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum EvaAttnType {
    /// `EvaAttention`: `q_bias` and `v_bias` (no key bias) beside a bias-free `qkv`, or
    /// `q_proj`/`k_proj`/`v_proj` with no bias on `k_proj`.
    #[default]
    Eva,
    /// `AttentionRope`: `qkv` with its bias, or three projections each with a bias.
    Rope,
}

/// Configuration of a timm `Eva` model, with timm's argument names and defaults (`eva.py`);
/// built as a [`VisionTransformer`] with rotary embeddings ([`Self::vit`]). `architecture` is
/// timm's entrypoint name, kept for exporting back to timm.
#[derive(Config, Debug, PartialEq)]
pub struct EvaConfig {
    /// timm's architecture name this config was built from (e.g. `eva02_small_patch14_224`).
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
    /// Pooling: `token`, `avg`, `max` or `map` (an attention pool over all tokens).
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
    /// Key/value heads per block (grouped-query attention, `attn_type = rope` with separate
    /// projections: Sapiens2); `None`: `num_heads`.
    #[config(default = "None")]
    pub num_kv_heads: Option<Vec<usize>>,
    /// Bias on the query and value projections (and the key's with `attn_type = rope`).
    #[config(default = true)]
    pub qkv_bias: bool,
    /// One `qkv` projection (true) or `q_proj`/`k_proj`/`v_proj` (false): the key layout.
    #[config(default = true)]
    pub qkv_fused: bool,
    /// Norms on each head's queries and keys.
    #[config(default = false)]
    pub qk_norm: bool,
    /// MLP hidden width over `embed_dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// SwiGLU MLP (SiLU gate).
    #[config(default = false)]
    pub swiglu_mlp: bool,
    /// SwiGLU hidden width rounded up to a multiple of this (0: none).
    #[config(default = 0)]
    pub swiglu_align_to: usize,
    /// A norm on the MLP's hidden activation (normformer style).
    #[config(default = false)]
    pub scale_mlp: bool,
    /// A norm on the attention's merged heads before its projection.
    #[config(default = false)]
    pub scale_attn_inner: bool,
    /// timm's attention class: the key layout of the q/k/v biases.
    #[config(default = "EvaAttnType::Eva")]
    pub attn_type: EvaAttnType,
    /// Dropout before the head.
    #[config(default = 0.0)]
    pub drop_rate: f64,
    /// Dropout after the position embedding.
    #[config(default = 0.0)]
    pub pos_drop_rate: f64,
    /// Patch dropout while training (not supported: must be 0).
    #[config(default = 0.0)]
    pub patch_drop_rate: f64,
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
    /// LayerScale on the attention branch only.
    #[config(default = false)]
    pub attn_only_layer_scale: bool,
    /// A class token.
    #[config(default = true)]
    pub class_token: bool,
    /// Register tokens after the class token.
    #[config(default = 0)]
    pub num_reg_tokens: usize,
    /// The position embedding covers only the patches.
    #[config(default = false)]
    pub no_embed_class: bool,
    /// A learned absolute position embedding.
    #[config(default = true)]
    pub use_abs_pos_emb: bool,
    /// Rotary position embeddings in every block.
    #[config(default = false)]
    pub use_rot_pos_emb: bool,
    /// `cat`, `mixed` or `dinov3`.
    #[config(default = "RopeKind::Cat")]
    pub rope_type: RopeKind,
    /// Offset added to the rotary grid positions.
    #[config(default = 0.0)]
    pub rope_grid_offset: f64,
    /// `ij` or `xy`.
    #[config(default = "GridIndexing::Ij")]
    pub rope_grid_indexing: GridIndexing,
    /// Rotary frequency base.
    #[config(default = 10000.0)]
    pub rope_temperature: f64,
    /// Half layout instead of interleaved pairs.
    #[config(default = false)]
    pub rope_rotate_half: bool,
    /// Training-time rotary coordinate shift, uniform in `[−s, s]` grid units.
    #[config(default = "None")]
    pub rope_shift_coords: Option<f64>,
    /// Training-time per-axis rotary coordinate scale, log-uniform in `[1/J, J]`.
    #[config(default = "None")]
    pub rope_jitter_coords: Option<f64>,
    /// Training-time shared rotary coordinate scale, log-uniform in `[1/R, R]` (DINOv3: 2).
    #[config(default = "None")]
    pub rope_rescale_coords: Option<f64>,
    /// Post-norm blocks (`EvaBlockPostNorm`).
    #[config(default = false)]
    pub use_post_norm: bool,
    /// A norm before the blocks (and no patch-projection bias).
    #[config(default = false)]
    pub use_pre_transformer_norm: bool,
    /// The norm after the blocks; `None`: when there is no `fc_norm`.
    #[config(default = "None")]
    pub use_post_transformer_norm: Option<bool>,
    /// The norm after pooling; `None`: with average pooling.
    #[config(default = "None")]
    pub use_fc_norm: Option<bool>,
    /// Heads of the attention pool; `None`: `num_heads`.
    #[config(default = "None")]
    pub attn_pool_num_heads: Option<usize>,
    /// MLP ratio of the attention pool; `None`: `mlp_ratio`.
    #[config(default = "None")]
    pub attn_pool_mlp_ratio: Option<f64>,
    /// Any input size of whole patches (position and rotary embeddings follow the grid).
    #[config(default = false)]
    pub dynamic_img_size: bool,
    /// Pad inputs to whole patches.
    #[config(default = false)]
    pub dynamic_img_pad: bool,
    /// The grid rotary positions are rescaled to (`cat` only; EVA-02's fine-tunes).
    #[config(default = "None")]
    pub ref_feat_shape: Option<[usize; 2]>,
}

fn invalid(field: &str, reason: impl Into<String>) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}

impl EvaConfig {
    /// The ViT this config builds: timm's `Eva` forward is the ViT's with rotary embeddings,
    /// `EvaAttention`'s zero key bias folded into one `qkv` bias, LayerScale `gamma_*` as `ls*`.
    /// Options timm's `Eva` has and this implementation lacks are errors naming them.
    pub fn vit(&self) -> Result<VisionTransformerConfig> {
        if self.patch_drop_rate != 0.0 {
            return Err(invalid(
                "patch_drop_rate",
                "patch dropout is not supported (set it to 0)",
            ));
        }
        let fc_norm = self
            .use_fc_norm
            .unwrap_or(self.global_pool == GlobalPool::Avg);
        let post_norm = self.use_post_transformer_norm.unwrap_or(!fc_norm);
        if fc_norm && post_norm {
            return Err(invalid(
                "use_post_transformer_norm",
                "a norm both after the blocks and after pooling is not supported",
            ));
        }
        let packed = self.swiglu_mlp && !self.scale_mlp && self.swiglu_align_to == 0;
        let hidden = mlp_hidden(self.embed_dim, self.mlp_ratio);
        let (mlp_kind, mlp_ratio) = match (self.swiglu_mlp, packed) {
            (false, _) => (MlpKind::Mlp, self.mlp_ratio),
            (true, false) => (MlpKind::Swiglu, self.mlp_ratio),
            // timm's GluMlp takes twice the hidden width and halves it after fc1; our packed
            // SwiGLU's ratio is the packed width's (the half keeps int(dim · ratio) exact).
            (true, true) => (
                MlpKind::SwigluPacked,
                (2 * hidden) as f64 / self.embed_dim.max(1) as f64
                    + 0.5 / self.embed_dim.max(1) as f64,
            ),
        };
        if self.swiglu_mlp && self.global_pool == GlobalPool::Map {
            return Err(invalid(
                "swiglu_mlp",
                "a SwiGLU model with an attention pool (GELU MLP) is not supported",
            ));
        }
        let rope = self.use_rot_pos_emb.then(|| {
            RopeConfig::new()
                .with_kind(self.rope_type)
                .with_temperature(self.rope_temperature)
                .with_grid_offset(self.rope_grid_offset)
                .with_grid_indexing(self.rope_grid_indexing)
                .with_rotate_half(self.rope_rotate_half)
                // timm drops the reference shape for `mixed` and `dinov3`.
                .with_ref_feat_shape(
                    self.ref_feat_shape
                        .filter(|_| self.rope_type == RopeKind::Cat),
                )
        });
        let config = VisionTransformerConfig::new()
            .with_img_size(self.img_size)
            .with_patch_size(self.patch_size)
            .with_in_chans(self.in_chans)
            .with_num_classes(self.num_classes)
            .with_embed_dim(self.embed_dim)
            .with_depth(self.depth)
            .with_num_heads(self.num_heads)
            .with_mlp_ratio(mlp_ratio)
            .with_qkv_bias(self.qkv_bias)
            // timm's post-norm Eva block ignores `init_values`.
            .with_init_values(self.init_values.filter(|_| !self.use_post_norm))
            .with_class_token(self.class_token)
            .with_reg_tokens(self.num_reg_tokens)
            .with_pos_embed(if self.use_abs_pos_emb {
                PosEmbedKind::Learn
            } else {
                PosEmbedKind::None
            })
            .with_no_embed_class(self.no_embed_class)
            .with_global_pool(self.global_pool)
            .with_fc_norm(Some(fc_norm))
            .with_final_norm(fc_norm || post_norm)
            .with_pre_norm(self.use_pre_transformer_norm)
            .with_patch_bias(!self.use_pre_transformer_norm)
            .with_norm_layer(self.norm_layer)
            .with_norm_eps(self.norm_eps)
            .with_act_layer(if self.swiglu_mlp {
                Activation::Silu
            } else {
                Activation::Gelu
            })
            .with_scale_attn_norm(self.scale_attn_inner)
            .with_scale_mlp_norm(self.scale_mlp && !packed)
            .with_block_fn(if self.use_post_norm {
                BlockKind::ResPostBlock
            } else {
                BlockKind::Block
            })
            // timm's Eva pools every token in its attention pool.
            .with_pool_include_prefix(self.global_pool == GlobalPool::Map)
            .with_mlp_kind(mlp_kind)
            .with_mlp_align_to(if mlp_kind == MlpKind::Swiglu {
                self.swiglu_align_to
            } else {
                0
            })
            .with_drop_rate(self.drop_rate)
            .with_pos_drop_rate(self.pos_drop_rate)
            .with_proj_drop_rate(self.proj_drop_rate)
            .with_attn_drop_rate(self.attn_drop_rate)
            .with_drop_path_rate(self.drop_path_rate)
            .with_dynamic_img_size(self.dynamic_img_size)
            .with_dynamic_img_pad(self.dynamic_img_pad)
            .with_rope(rope)
            .with_qk_norm(self.qk_norm)
            .with_zero_k_bias(self.attn_type == EvaAttnType::Eva)
            .with_attn_only_layer_scale(self.attn_only_layer_scale && self.init_values.is_some())
            .with_attn_pool_num_heads(self.attn_pool_num_heads)
            .with_attn_pool_mlp_ratio(self.attn_pool_mlp_ratio);
        let grouped = self
            .num_kv_heads
            .as_ref()
            .is_some_and(|kv| kv.iter().any(|&k| k != self.num_heads));
        if grouped && (self.qkv_fused || self.attn_type != EvaAttnType::Rope) {
            return Err(invalid(
                "num_kv_heads",
                "grouped-query attention needs attn_type `rope` with qkv_fused false (as timm)",
            ));
        }
        let config = config.with_num_kv_heads(self.num_kv_heads.clone().filter(|_| grouped));
        if self.use_post_norm && (self.qk_norm || self.attn_only_layer_scale || grouped) {
            return Err(invalid(
                "use_post_norm",
                "timm's post-norm Eva block has no qk_norm, attention-only LayerScale or \
                 grouped-query attention",
            ));
        }
        config.validate()?;
        Ok(config)
    }

    /// Builds the model (a ViT with rotary embeddings).
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<VisionTransformer<B>> {
        self.vit()?.try_init(device)
    }
}

impl ModelConfig for EvaConfig {
    crate::timm_family::vit_built_model_config!(EVA_FAMILY);

    fn default_pretrained_cfg(&self) -> PretrainedCfg {
        let mut cfg = PretrainedCfg::vit_default(self.in_chans, self.img_size);
        if self.in_chans == 3 {
            cfg.mean = vec![0.48145466, 0.4578275, 0.40821073];
            cfg.std = vec![0.26862954, 0.261_302_6, 0.275_777_1];
        }
        cfg
    }
}
