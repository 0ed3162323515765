//! Analytic compute cost of a Swin forward pass (matmuls only, as vit-core's ViT count
//! and the "GFLOPs" of timm's model cards).

use crate::swin::block::SwinBlockConfig;
use crate::swin::model::{SwinTransformerConfig, SwinVersion};

impl SwinTransformerConfig {
    /// Multiply-accumulates per image: patch projection; per block qkv, q·kᵀ and attention·v
    /// within (padded) windows, projection and MLP; patch merging; head.
    pub fn macs(&self) -> u64 {
        let Ok(resolutions) = self.stage_resolutions() else {
            return 0;
        };
        let p = self.patch_size as u64;
        let [h0, w0] = resolutions[0];
        let mut macs = (h0 * w0) as u64 * (self.in_chans as u64 * p * p) * self.embed_dim as u64;
        for (stage, &[h, w]) in resolutions.iter().enumerate() {
            let c = self.stage_dim(stage) as u64;
            let tokens = (h * w) as u64;
            if stage > 0 {
                macs += tokens * 4 * (c / 2) * c; // merging: 4·(C/2) → C
            }
            let block = SwinBlockConfig::new(self.stage_dim(stage), [h, w], self.num_heads[stage])
                .with_window_size(self.stage_window(stage));
            let (window, _) = block.window_and_shift();
            let padded =
                (h.div_ceil(window[0]) * window[0] * w.div_ceil(window[1]) * window[1]) as u64;
            let n = (window[0] * window[1]) as u64;
            let hidden = (c as f64 * self.mlp_ratio) as u64;
            let per_block =
                padded * c * 3 * c + 2 * padded * n * c + padded * c * c + 2 * tokens * c * hidden;
            macs += self.depths[stage] as u64 * per_block;
        }
        macs + (self.num_features() * self.num_classes) as u64
    }

    /// Learnable parameters from the config (as timm counts them), without building the model.
    pub fn param_estimate(&self) -> u64 {
        let Ok(resolutions) = self.stage_resolutions() else {
            return 0;
        };
        let p = self.patch_size as u64;
        let c0 = self.embed_dim as u64;
        let mut params = self.in_chans as u64 * p * p * c0 + c0 + 2 * c0; // conv + its norm
        for (stage, &[h, w]) in resolutions.iter().enumerate() {
            let c = self.stage_dim(stage) as u64;
            let v2 = self.version == SwinVersion::V2;
            if stage > 0 {
                // Merging: Linear 4·(C/2) → C, its norm on 4·(C/2) (V2: on C).
                params += 2 * c * c + if v2 { 2 * c } else { 2 * c * 2 };
            }
            let block = SwinBlockConfig::new(self.stage_dim(stage), [h, w], self.num_heads[stage])
                .with_window_size(self.stage_window(stage));
            let (window, _) = block.window_and_shift();
            let heads = self.num_heads[stage] as u64;
            // V1: qkv with its bias and a table per offset; V2: q/v biases only, the bias MLP
            // (2 → 512 → heads, no second bias) and a log scale per head.
            let position = if v2 {
                2 * 512 + 512 + 512 * heads + heads
            } else {
                (2 * window[0] as u64 - 1) * (2 * window[1] as u64 - 1) * heads
            };
            let qkv_bias = if v2 { 2 * c } else { 3 * c };
            let hidden = (c as f64 * self.mlp_ratio) as u64;
            let attention = 4 * c * c + qkv_bias + c + position;
            let per_block = attention + 2 * c * hidden + hidden + c + 4 * c;
            params += self.depths[stage] as u64 * per_block;
        }
        let features = self.num_features() as u64;
        params + 2 * features + features * self.num_classes as u64 + self.num_classes as u64
    }

    /// Floats one image keeps for the backward pass, an estimate.
    pub fn activation_estimate(&self) -> u64 {
        let Ok(resolutions) = self.stage_resolutions() else {
            return 0;
        };
        resolutions
            .iter()
            .enumerate()
            .map(|(stage, &[h, w])| {
                let window = (self.stage_window(stage) * self.stage_window(stage)) as u64;
                let c = self.stage_dim(stage) as u64;
                let tokens = (h * w) as u64;
                let hidden = (c as f64 * self.mlp_ratio) as u64;
                let heads = self.num_heads[stage] as u64;
                self.depths[stage] as u64
                    * (tokens * (10 * c + 3 * hidden) + 2 * heads * tokens * window)
            })
            .sum()
    }
}
