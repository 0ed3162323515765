//! Analytic compute cost of a ViT forward pass.

use crate::layers::block::{AttnLayer, BlockKind, aligned_hidden};
use crate::layers::mlp::{MlpKind, mlp_hidden};
use crate::layers::norm::NormKind;
use crate::layers::pooling::GlobalPool;
use crate::layers::pos_embed::PosEmbedKind;
use crate::layers::rel_pos::{RelPosKind, RelPosMlpMode};
use crate::layers::rope::RopeKind;
use crate::vit::VisionTransformerConfig;

impl VisionTransformerConfig {
    /// Multiply-accumulates of one forward pass on one image at `img_size`: every matmul
    /// (patch projection, qkv, q·kᵀ, attention·v, projections, MLP, attention pool, head).
    /// Norms, softmax and activations are not counted — the convention of fvcore and of the
    /// "GFLOPs"/"GMACs" figures in the DeiT paper and timm's model cards (17.6 for ViT-B/16).
    pub fn macs(&self) -> u64 {
        let [gh, gw] = self.grid_size().unwrap_or([0, 0]);
        let patches = (gh * gw) as u64;
        let n = patches + self.num_prefix_tokens() as u64;
        let d = self.embed_dim as u64;
        let hidden = self.block_mlp_hidden() as u64;
        let p = self.patch_size as u64;
        let proj_in = self.patch_embed_config().proj_in_chans() as u64;
        let stem = self
            .backbone
            .as_ref()
            .map_or(0, |stem| stem.macs(self.in_chans, self.img_size));
        let projection = if self.embed_proj {
            patches * (proj_in * p * p) * d
        } else {
            0
        };
        let patch_embed = stem + projection;
        let mlp = (self.mlp_kind.macs_per_dim_hidden() * (d * hidden) as f64) as u64;
        let per_block = if self.block_fn.is_parallel() {
            // in_proj (mlp + q, k, v), attention, the output projection(s) of attention and MLP
            n * d * (hidden + 3 * d) + 2 * n * n * d + n * (d + hidden) * d
        } else {
            n * d * 3 * d          // qkv
            + 2 * n * n * d        // q·kᵀ and attention·v
            + n * d * d            // proj
            + n * mlp // fc1 (fc1_g, fc1_x) and fc2
        };
        let pool = match self.global_pool {
            // latent q, kv over the pooled tokens, scores and weighted sum, proj, MLP on one token
            GlobalPool::Map => {
                let m = if self.pool_include_prefix { n } else { patches };
                let hidden = self.pool_mlp_hidden() as u64;
                d * d + m * 2 * d * d + 2 * m * d + d * d + 2 * d * hidden
            }
            _ => 0,
        };
        let heads = 1 + u64::from(self.distilled); // DeiT adds the distillation head
        let head = heads * d * self.num_classes as u64;
        // Grouped-query attention: fewer key/value columns in those blocks' qkv projections.
        let kv_saved = n * d * self.kv_columns_saved();
        patch_embed + self.depth as u64 * per_block - kv_saved + pool + head
    }

    /// `2 × macs()`: floating-point operations counting a multiply and an add separately.
    pub fn flops(&self) -> u64 {
        2 * self.macs()
    }

    /// Learnable parameters from the config, exactly as timm counts them, without building the
    /// model.
    pub fn param_estimate(&self) -> u64 {
        let [gh, gw] = self.grid_size().unwrap_or([0, 0]);
        let d = self.embed_dim as u64;
        let hidden = self.block_mlp_hidden() as u64;
        let fc2_width = self.mlp_kind.fc2_width(hidden as usize) as u64;
        let norm = |kind: NormKind, width: u64| match kind {
            NormKind::LayerNorm => 2 * width,
            NormKind::RmsNorm => width,
        };
        let linear =
            |inputs: u64, outputs: u64, bias: bool| inputs * outputs + u64::from(bias) * outputs;
        let p = self.patch_size as u64;
        let proj_in = self.patch_embed_config().proj_in_chans() as u64;
        let stem = self
            .backbone
            .as_ref()
            .map_or(0, |stem| stem.param_count(self.in_chans));
        let projection = if self.embed_proj {
            linear(proj_in * p * p, d, self.patch_bias)
        } else {
            0
        };
        let patch_embed = stem + projection + self.embed_norm_layer.map_or(0, |kind| norm(kind, d));
        let [ph, pw] = self.pos_grid().unwrap_or([gh, gw]);
        let pos = match self.pos_embed {
            PosEmbedKind::Learn => {
                ((ph * pw) as u64 + self.num_embedded_prefix_tokens() as u64) * d
            }
            PosEmbedKind::Factorized => (ph + pw) as u64 * d,
            PosEmbedKind::Sincos | PosEmbedKind::None => 0,
        };
        let tokens = self.num_prefix_tokens() as u64 * d;
        let mlp_in = match self.mlp_kind {
            MlpKind::Mlp | MlpKind::SwigluPacked => linear(d, hidden, self.proj_bias),
            MlpKind::Swiglu => 2 * linear(d, hidden, self.proj_bias),
        };
        let layer_scale = match (self.init_values, self.block_fn) {
            (Some(_), BlockKind::Block) if self.attn_only_layer_scale => d,
            (Some(_), BlockKind::Block) => 2 * d,
            (Some(_), kind) if kind.is_parallel() => d,
            _ => 0,
        };
        // Differential attention: four λ vectors of the half head width, an RMSNorm of two.
        let half_head = (d / self.num_heads.max(1) as u64) / 2;
        let differential = 6 * half_head;
        let per_block = if self.block_fn.is_parallel() {
            let outputs = if self.block_fn == BlockKind::DiffParallelScalingBlock {
                linear(d + hidden, d, self.proj_bias) + differential
            } else {
                linear(d, d, self.proj_bias) + linear(hidden, d, self.proj_bias)
            };
            norm(self.norm_layer, d)
                + linear(d, hidden + 3 * d, self.qkv_bias)
                + if self.qkv_bias { 0 } else { hidden }
                + outputs
                + layer_scale
        } else {
            linear(d, 3 * d, self.qkv_bias)
                - if self.qkv_bias && self.zero_k_bias {
                    d
                } else {
                    0
                }
                + if self.attn_layer == AttnLayer::Diff {
                    differential
                } else {
                    0
                }
                + linear(d, d, self.proj_bias)
                + mlp_in
                + linear(fc2_width, d, self.proj_bias)
                + 2 * norm(self.norm_layer, d)
                + if self.scale_attn_norm {
                    norm(self.norm_layer, d)
                } else {
                    0
                }
                + if self.qk_norm {
                    2 * norm(self.norm_layer, d / self.num_heads.max(1) as u64)
                } else {
                    0
                }
                + if self.scale_mlp_norm {
                    norm(self.norm_layer, fc2_width)
                } else {
                    0
                }
                + layer_scale
        };
        let pre_norm = if self.pre_norm {
            norm(self.norm_layer, d)
        } else {
            0
        };
        let final_norm = if self.final_norm {
            norm(self.norm_layer, d)
        } else {
            0
        };
        // Learned rotary frequencies: two per (block, head, half head width).
        let rope = match &self.rope {
            Some(rope) if rope.kind == RopeKind::Mixed => self.depth as u64 * d,
            _ => 0,
        };
        let pool = match self.global_pool {
            GlobalPool::Map => {
                let hidden = self.pool_mlp_hidden() as u64;
                d + 2 * linear(d, d, true)
                    + linear(d, 2 * d, true)
                    + norm(self.norm_layer, d)
                    + linear(d, hidden, true)
                    + linear(hidden, d, true)
            }
            _ => 0,
        };
        // Relative position biases: a table (BEiT: offsets + 3 class rows) or an MLP (2 → hidden
        // → heads), in every block or once.
        let rel_pos = match &self.rel_pos {
            None => 0,
            Some(r) => {
                let h = self.num_heads as u64;
                let one = match r.kind {
                    RelPosKind::Table => {
                        let [gh, gw] = self.grid_size().unwrap_or([1, 1]).map(|g| g as u64);
                        ((2 * gh - 1) * (2 * gw - 1) + 3) * h
                    }
                    RelPosKind::Mlp => {
                        let hidden = r.hidden_dim as u64;
                        linear(2, hidden, true) + linear(hidden, h, r.mode == RelPosMlpMode::Cr)
                    }
                };
                if r.shared {
                    one
                } else {
                    self.depth as u64 * one
                }
            }
        };
        let heads = 1 + u64::from(self.distilled);
        let head = heads * linear(d, self.num_classes as u64, true);
        // Grouped-query attention: fewer key/value rows (and biases) in those blocks' qkv.
        let kv_saved =
            self.kv_columns_saved() * (d + u64::from(self.qkv_bias && !self.zero_k_bias));
        patch_embed
            + pos
            + rope
            + rel_pos
            + tokens
            + pre_norm
            + self.depth as u64 * per_block
            + final_norm
            + pool
            + head
            - kv_saved
    }

    /// Key and value columns the blocks' qkv projections lack for grouped-query attention,
    /// summed over the blocks.
    fn kv_columns_saved(&self) -> u64 {
        let head_dim = self.embed_dim / self.num_heads.max(1);
        (0..self.depth)
            .filter_map(|i| self.kv_heads_of(i))
            .map(|kv| (2 * (self.num_heads - kv) * head_dim) as u64)
            .sum()
    }

    /// The blocks' MLP hidden width (`mlp_ratio`, rounded up to `mlp_align_to`).
    pub fn block_mlp_hidden(&self) -> usize {
        aligned_hidden(
            mlp_hidden(self.embed_dim, self.mlp_ratio),
            self.mlp_align_to,
        )
    }

    /// The attention pool's MLP hidden width.
    fn pool_mlp_hidden(&self) -> usize {
        mlp_hidden(
            self.embed_dim,
            self.attn_pool_mlp_ratio.unwrap_or(self.mlp_ratio),
        )
    }

    /// Floats one image keeps for the backward pass (layer inputs, MLP activations, attention
    /// weights), an estimate.
    pub fn activation_estimate(&self) -> u64 {
        let [gh, gw] = self.grid_size().unwrap_or([0, 0]);
        let n = (gh * gw + self.num_prefix_tokens()) as u64;
        let d = self.embed_dim as u64;
        let hidden = self.block_mlp_hidden() as u64;
        let heads = self.num_heads as u64;
        self.depth as u64 * (n * (10 * d + 3 * hidden) + 2 * heads * n * n)
    }
}
