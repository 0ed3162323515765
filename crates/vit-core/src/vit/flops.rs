//! Analytic compute cost of a ViT forward pass.

use crate::layers::mlp::{MlpKind, mlp_hidden};
use crate::layers::pooling::GlobalPool;
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
        let hidden = mlp_hidden(self.embed_dim, self.mlp_ratio) as u64;
        let p = self.patch_size as u64;
        let patch_embed = patches * (self.in_chans as u64 * p * p) * d;
        let mlp_in = match self.mlp_kind {
            MlpKind::Gelu => 1,
            MlpKind::Swiglu => 2,
        };
        let per_block = n * d * 3 * d          // qkv
            + 2 * n * n * d                    // q·kᵀ and attention·v
            + n * d * d                        // proj
            + (mlp_in + 1) * n * d * hidden; // fc1 (fc1_g, fc1_x) and fc2
        let pool = match self.global_pool {
            // latent q, kv over n tokens, scores and weighted sum, proj, MLP on one token
            GlobalPool::Map => d * d + n * 2 * d * d + 2 * n * d + d * d + 2 * d * hidden,
            _ => 0,
        };
        let heads = 1 + u64::from(self.distilled); // DeiT adds the distillation head
        let head = heads * d * self.num_classes as u64;
        patch_embed + self.depth as u64 * per_block + pool + head
    }

    /// `2 × macs()`: floating-point operations counting a multiply and an add separately.
    pub fn flops(&self) -> u64 {
        2 * self.macs()
    }

    /// Learnable parameters from the config (as timm counts them), without building the model.
    pub fn param_estimate(&self) -> u64 {
        let [gh, gw] = self.grid_size().unwrap_or([0, 0]);
        let d = self.embed_dim as u64;
        let hidden = mlp_hidden(self.embed_dim, self.mlp_ratio) as u64;
        let p = self.patch_size as u64;
        let patch_embed = self.in_chans as u64 * p * p * d + d;
        let pos = ((gh * gw) as u64 + self.num_embedded_prefix_tokens() as u64) * d;
        let tokens = self.num_prefix_tokens() as u64 * d;
        let mlp_in = match self.mlp_kind {
            MlpKind::Gelu => 1,
            MlpKind::Swiglu => 2,
        };
        let layer_scale = if self.init_values.is_some() { 2 * d } else { 0 };
        let per_block = 4 * d * d + 4 * d           // qkv and proj, with biases
            + mlp_in * (d * hidden + hidden)        // fc1 (fc1_g, fc1_x)
            + hidden * d + d                        // fc2
            + 4 * d                                 // two LayerNorms
            + layer_scale;
        let heads = 1 + u64::from(self.distilled);
        let head = heads * (d * self.num_classes as u64 + self.num_classes as u64);
        patch_embed + pos + tokens + self.depth as u64 * per_block + 2 * d + head
    }

    /// Floats one image keeps for the backward pass (layer inputs, MLP activations, attention
    /// weights), an estimate.
    pub fn activation_estimate(&self) -> u64 {
        let [gh, gw] = self.grid_size().unwrap_or([0, 0]);
        let n = (gh * gw + self.num_prefix_tokens()) as u64;
        let d = self.embed_dim as u64;
        let hidden = mlp_hidden(self.embed_dim, self.mlp_ratio) as u64;
        let heads = self.num_heads as u64;
        self.depth as u64 * (n * (10 * d + 3 * hidden) + 2 * heads * n * n)
    }
}
