//! CaiT's talking-heads attention (Shazeer et al. 2020): the heads' scores are mixed by a learned
//! `heads × heads` map before the softmax (`proj_l`) and the weights again after it (`proj_w`), so
//! the scores are always materialised — no fused kernel applies.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::layers::attention::{merge_heads, split_heads};
use vit_core::layers::init::timm_linear;
use vit_core::layers::linear::linear;
use vit_core::precision::{from_autocast, to_autocast};

/// Configuration of a [`TalkingHeadAttn`].
#[derive(Config, Debug)]
pub struct TalkingHeadAttnConfig {
    /// Token dimension.
    pub dim: usize,
    /// Heads; must divide `dim`.
    pub num_heads: usize,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the output projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
}

/// timm's `TalkingHeadAttn` (keys `qkv`, `proj`, `proj_l`, `proj_w`).
#[derive(Module, Debug)]
pub struct TalkingHeadAttn<B: VitBackend> {
    /// Fused query/key/value projection.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Head mixing of the scores, before the softmax.
    pub proj_l: Linear<B>,
    /// Head mixing of the weights, after the softmax.
    pub proj_w: Linear<B>,
    /// Dropout on the mixed weights.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// Heads.
    pub num_heads: usize,
}

impl TalkingHeadAttnConfig {
    /// Builds the layer with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> TalkingHeadAttn<B> {
        TalkingHeadAttn {
            qkv: timm_linear(self.dim, 3 * self.dim, self.qkv_bias, device),
            proj: timm_linear(self.dim, self.dim, true, device),
            proj_l: timm_linear(self.num_heads, self.num_heads, true, device),
            proj_w: timm_linear(self.num_heads, self.num_heads, true, device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
        }
    }
}

/// A `heads → heads` Linear over the head axis of `[batch, heads, q, k]` scores.
fn mix_heads<B: VitBackend>(layer: &Linear<B>, scores: Tensor<B, 4>) -> Tensor<B, 4> {
    linear(layer, scores.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
}

impl<B: VitBackend> TalkingHeadAttn<B> {
    /// `x [batch, tokens, dim]` → same shape, with the mixed weights `[batch, heads, tokens,
    /// tokens]` (those that multiply the values) when `need_weights`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let [q, k, v] = split_heads(linear(&self.qkv, x), self.num_heads);
        let scale = (q.dims()[3] as f64).powf(-0.5);
        // Under autocast the products run in the low precision, the softmax in f32.
        let scores =
            from_autocast(to_autocast(q.mul_scalar(scale)).matmul(to_autocast(k.swap_dims(2, 3))));
        let weights = mix_heads(
            &self.proj_w,
            vit_core::ops::softmax_last(mix_heads(&self.proj_l, scores)),
        );
        let dropped = to_autocast(self.attn_drop.forward(weights.clone()));
        let out = merge_heads(from_autocast(dropped.matmul(to_autocast(v))));
        let out = self.proj_drop.forward(linear(&self.proj, out));
        (out, need_weights.then_some(weights))
    }
}
