//! Class attention (CaiT's `ClassAttn`, also XCiT's): only the class token queries; every token
//! (the class token included) is a key and a value. The class token gathers the patches' content
//! without the patches attending to one another — `N` scores per head instead of `N²`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::layers::attention::{AttentionPath, merge_heads};
use crate::layers::init::timm_linear;
use crate::layers::linear::linear;

/// Configuration of a [`ClassAttn`].
#[derive(Config, Debug)]
pub struct ClassAttnConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads; must divide `dim`.
    pub num_heads: usize,
    /// Bias on the q, k and v projections.
    #[config(default = false)]
    pub qkv_bias: bool,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the output projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
}

/// timm's `ClassAttn` (keys `q`, `k`, `v`, `proj`).
#[derive(Module, Debug)]
pub struct ClassAttn<B: VitBackend> {
    /// Query projection (applied to the class token only).
    pub q: Linear<B>,
    /// Key projection.
    pub k: Linear<B>,
    /// Value projection.
    pub v: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Dropout on the attention weights.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// Heads.
    pub num_heads: usize,
    /// How the scores are computed.
    pub path: AttentionPath,
}

impl ClassAttnConfig {
    /// Builds the layer with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> ClassAttn<B> {
        let projection = || timm_linear(self.dim, self.dim, self.qkv_bias, device);
        ClassAttn {
            q: projection(),
            k: projection(),
            v: projection(),
            proj: timm_linear(self.dim, self.dim, true, device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
            path: AttentionPath::preferred::<B>(device),
        }
    }
}

impl<B: VitBackend> ClassAttn<B> {
    /// `x [batch, tokens, dim]` (class token first) → the class token's update `[batch, 1, dim]`,
    /// and its attention over the tokens `[batch, heads, 1, tokens]` when `need_weights`.
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let [b, n, d] = x.dims();
        let h = self.num_heads;
        let heads =
            |t: Tensor<B, 3>, tokens: usize| t.reshape([b, tokens, h, d / h]).swap_dims(1, 2);
        let q = heads(linear(&self.q, x.clone().narrow(1, 0, 1)), 1);
        let k = heads(linear(&self.k, x.clone()), n);
        let v = heads(linear(&self.v, x), n);
        let (out, weights) = self
            .path
            .attend([q, k, v], None, &self.attn_drop, need_weights);
        let out = linear(&self.proj, merge_heads(out));
        (self.proj_drop.forward(out), weights)
    }
}
