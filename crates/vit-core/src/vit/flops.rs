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
}
