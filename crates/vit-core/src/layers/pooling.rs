//! Turning the token sequence into one vector per image: class token, average, max, or a
//! learned attention pool (timm's `global_pool`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::layers::activation::Activation;
use crate::layers::attention::{AttentionPath, merge_heads, split_heads};
use crate::layers::init::{lazy_param, timm_linear, trunc_normal_timm};
use crate::layers::linear::linear;
use crate::layers::mlp::mlp_hidden;
use crate::layers::mlp::{Mlp, MlpConfig};
use crate::layers::norm::{Norm, NormKind};

/// How a ViT pools its tokens (timm's `global_pool`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum GlobalPool {
    /// The class token's output (`'token'`); needs `class_token = true`.
    #[default]
    Token,
    /// Mean over the patch tokens (`'avg'`, GAP); prefix tokens are left out.
    Avg,
    /// Element-wise max over the patch tokens (`'max'`).
    Max,
    /// Multi-head attention pooling with a learned latent query (`'map'`, SigLIP).
    Map,
}

impl GlobalPool {
    /// timm's default for `fc_norm`: a norm after pooling for avg/max, the final norm otherwise.
    pub fn uses_fc_norm_by_default(self) -> bool {
        matches!(self, GlobalPool::Avg | GlobalPool::Max)
    }
}

/// Pools `[batch, tokens, dim]` to `[batch, dim]` by `Token`, `Avg` or `Max`; the first
/// `num_prefix_tokens` tokens (class/distillation/register) are not patches and are skipped by
/// avg/max (pass 0 to include them: timm's `pool_include_prefix`).
///
/// # Panics
/// For [`GlobalPool::Map`], which needs its module ([`AttentionPool`]).
pub fn pool_tokens<B: VitBackend>(
    x: Tensor<B, 3>,
    pool: GlobalPool,
    num_prefix_tokens: usize,
) -> Tensor<B, 2> {
    let [_, n, _] = x.dims();
    let patches = || {
        x.clone()
            .narrow(1, num_prefix_tokens, n - num_prefix_tokens)
    };
    match pool {
        GlobalPool::Token => x.clone().narrow(1, 0, 1).squeeze_dim(1),
        GlobalPool::Avg => patches().mean_dim(1).squeeze_dim(1),
        GlobalPool::Max => patches().max_dim(1).squeeze_dim(1),
        GlobalPool::Map => panic!("attention pooling needs an AttentionPool module"),
    }
}

/// Configuration of an [`AttentionPool`].
#[derive(Config, Debug)]
pub struct AttentionPoolConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads.
    #[config(default = 8)]
    pub num_heads: usize,
    /// Hidden size of the MLP as a multiple of `dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the q and kv projections.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// The norm before the MLP: LayerNorm or RMSNorm (the model's `norm_layer`).
    #[config(default = "NormKind::LayerNorm")]
    pub norm: NormKind,
    /// Norm epsilon.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// The MLP's activation (the model's `act_layer`).
    #[config(default = "Activation::Gelu")]
    pub act: Activation,
}

/// Learned attention pooling (timm's `AttentionPoolLatent`, one latent query): the latent
/// attends over all tokens, then `x + mlp(norm(x))`; the result is the pooled vector.
#[derive(Module, Debug)]
pub struct AttentionPool<B: VitBackend> {
    /// The learned query `[1, 1, dim]`.
    pub latent: Param<Tensor<B, 3>>,
    /// Query projection.
    pub q: Linear<B>,
    /// Fused key/value projection (`dim → 2·dim`).
    pub kv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Norm before the MLP.
    pub norm: Norm<B>,
    /// The MLP.
    pub mlp: Mlp<B>,
    /// Dropout on the attention weights (timm's pool has none: probability 0).
    pub attn_drop: Dropout,
    /// Number of heads.
    pub num_heads: usize,
    /// How the scores are computed.
    pub path: AttentionPath,
}

impl AttentionPoolConfig {
    /// Builds the pool with timm's initialisation (latent ~ trunc-normal(dim^-½)).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> AttentionPool<B> {
        let d = self.dim;
        AttentionPool {
            latent: lazy_param([1, 1, d], device, move |device| {
                trunc_normal_timm([1, 1, d], (d as f64).powf(-0.5), device)
            }),
            q: timm_linear(d, d, self.qkv_bias, device),
            kv: timm_linear(d, 2 * d, self.qkv_bias, device),
            proj: timm_linear(d, d, true, device),
            norm: self.norm.init(d, self.norm_eps, device),
            mlp: MlpConfig::new(d, mlp_hidden(d, self.mlp_ratio))
                .with_act(self.act)
                .init(device),
            attn_drop: DropoutConfig::new(0.0).init(),
            num_heads: self.num_heads,
            path: AttentionPath::preferred::<B>(device),
        }
    }
}

impl<B: VitBackend> AttentionPool<B> {
    /// Pools `x [batch, tokens, dim]` to `[batch, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, _, d] = x.dims();
        let latent = self.latent.val().expand([b, 1, d]);
        let [q] = split_heads(linear(&self.q, latent), self.num_heads);
        let [k, v] = split_heads(linear(&self.kv, x), self.num_heads);
        let (out, _) = self.path.attend([q, k, v], None, &self.attn_drop, false);
        // [b, 1, d] -> [b, d] before the Linear layers: Burn 0.21's fused WGPU backend gets
        // Linear → GELU → Linear wrong on [b > 1, 1, d] inputs (found by the timm parity test).
        let out = linear(&self.proj, merge_heads(out).squeeze_dim::<2>(1));
        out.clone() + self.mlp.forward(self.norm.forward(out))
    }
}
