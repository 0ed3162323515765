//! Differential attention (Ye et al. 2024, timm's `DiffAttention`): each head is a pair of
//! half-width heads whose softmax maps are subtracted, `A₁ − λ·A₂`, with a learned
//! `λ = exp(λq1·λk1) − exp(λq2·λk2) + λ_init`, then an RMSNorm per head scaled by `1 − λ_init`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Distribution, Tensor};
use vit_ops::VitBackend;

use crate::layers::attention::merge_heads;
use crate::layers::init::{lazy_param, timm_linear};
use crate::layers::linear::linear;
use crate::layers::norm::{Norm, NormKind, RmsNorm, RmsNormConfig, maybe_norm};

/// timm's `λ_init` for the block at `depth` (0-based): `0.8 − 0.6·exp(−0.3·depth)`.
pub fn lambda_init(depth: usize) -> f64 {
    0.8 - 0.6 * (-0.3 * depth as f64).exp()
}

/// The learned pieces of a differential head pair, borrowed from the module that owns them
/// (timm keeps them on the attention or on the parallel block, under the same names).
pub struct DiffHeads<'a, B: VitBackend> {
    /// `λq1, λk1, λq2, λk2`, each `[head_dim]`.
    pub lambdas: [&'a Param<Tensor<B, 1>>; 4],
    /// RMSNorm over each head's `2·head_dim` output (eps 1e-5).
    pub sub_norm: &'a RmsNorm<B>,
    /// `λ_init` of the block.
    pub lambda_init: f64,
    /// Attention heads (each a pair of half-width heads).
    pub num_heads: usize,
}

impl<B: VitBackend> DiffHeads<'_, B> {
    /// `λ` as a `[1]` tensor.
    fn lambda(&self) -> Tensor<B, 1> {
        let [q1, k1, q2, k2] = self.lambdas.map(Param::val);
        let first = (q1 * k1).sum().exp();
        let second = (q2 * k2).sum().exp();
        first - second + self.lambda_init
    }

    /// Attends `[q | k | v]` (`[batch, tokens, 3·dim]`, timm's split) → `[batch, tokens, dim]`
    /// and, when `need_weights`, the combined maps `A₁ − λ·A₂` `[batch, heads, tokens, tokens]`
    /// (rows sum to `1 − λ`, not 1).
    pub fn attend(
        &self,
        qkv: Tensor<B, 3>,
        attn_drop: &Dropout,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let [b, n, width] = qkv.dims();
        let dim = width / 3;
        let h = self.num_heads;
        let half = dim / h / 2;
        let q = qkv
            .clone()
            .narrow(2, 0, dim)
            .reshape([b, n, 2 * h, half])
            .swap_dims(1, 2);
        let k = qkv
            .clone()
            .narrow(2, dim, dim)
            .reshape([b, n, 2 * h, half])
            .swap_dims(1, 2);
        let v = qkv
            .narrow(2, 2 * dim, dim)
            .reshape([b, n, h, 2 * half])
            .swap_dims(1, 2);
        let scale = (half as f64).powf(-0.5);
        let scores = q.mul_scalar(scale).matmul(k.swap_dims(2, 3));
        let weights = attn_drop.forward(vit_ops::softmax_last(scores));
        // Heads 2i and 2i+1 form pair i (timm's `view(B, H, 2, N, N)`).
        let pairs = weights.reshape([b, h, 2, n, n]);
        let first = pairs.clone().narrow(2, 0, 1).reshape([b, h, n, n]);
        let second = pairs.narrow(2, 1, 1).reshape([b, h, n, n]);
        let lambda = self.lambda().reshape([1, 1, 1, 1]);
        let combined = first - second * lambda;
        let out = combined.clone().matmul(v);
        let out = self
            .sub_norm
            .forward(out)
            .mul_scalar(1.0 - self.lambda_init);
        (merge_heads(out), need_weights.then_some(combined))
    }
}

/// The four `λ` vectors (`N(0, 0.1)`, timm's init) and the head RMSNorm of a differential block.
pub(crate) fn diff_parts<B: VitBackend>(
    head_dim: usize,
    device: &B::Device,
) -> ([Param<Tensor<B, 1>>; 4], RmsNorm<B>) {
    let lambda = || {
        lazy_param([head_dim], device, move |device| {
            Tensor::random([head_dim], Distribution::Normal(0.0, 0.1), device)
        })
    };
    let sub_norm = RmsNormConfig::new(2 * head_dim)
        .with_epsilon(1e-5)
        .init(device);
    ([lambda(), lambda(), lambda(), lambda()], sub_norm)
}

/// Configuration of a [`DiffAttention`].
#[derive(Config, Debug)]
pub struct DiffAttentionConfig {
    /// Token dimension.
    pub dim: usize,
    /// Heads (each a pair of `dim/heads/2`-wide heads).
    pub num_heads: usize,
    /// The block's index (sets `λ_init`).
    #[config(default = 0)]
    pub depth: usize,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Bias on the output projection.
    #[config(default = true)]
    pub proj_bias: bool,
    /// A norm on the merged heads before the projection (`scale_attn_norm`).
    #[config(default = "None")]
    pub scale_norm: Option<NormKind>,
    /// Epsilon of that norm.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// Dropout on the attention maps.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
}

/// timm's `DiffAttention` (keys `qkv`, `lambda_q1`…`lambda_k2`, `sub_norm`, `norm`, `proj`).
#[derive(Module, Debug)]
pub struct DiffAttention<B: VitBackend> {
    /// Fused projection `dim → 3·dim`, `[q | k | v]`.
    pub qkv: Linear<B>,
    /// `λq1`.
    pub lambda_q1: Param<Tensor<B, 1>>,
    /// `λk1`.
    pub lambda_k1: Param<Tensor<B, 1>>,
    /// `λq2`.
    pub lambda_q2: Param<Tensor<B, 1>>,
    /// `λk2`.
    pub lambda_k2: Param<Tensor<B, 1>>,
    /// RMSNorm of each head's output.
    pub sub_norm: RmsNorm<B>,
    /// Optional norm before the projection.
    pub norm: Option<Norm<B>>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Dropout on the maps.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// Heads.
    pub num_heads: usize,
    /// `λ_init` of the block.
    pub lambda_init: f64,
}

impl DiffAttentionConfig {
    /// Builds the layer with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> DiffAttention<B> {
        let head_dim = self.dim / self.num_heads / 2;
        let ([lambda_q1, lambda_k1, lambda_q2, lambda_k2], sub_norm) = diff_parts(head_dim, device);
        DiffAttention {
            qkv: timm_linear(self.dim, 3 * self.dim, self.qkv_bias, device),
            lambda_q1,
            lambda_k1,
            lambda_q2,
            lambda_k2,
            sub_norm,
            norm: self
                .scale_norm
                .map(|kind| kind.init(self.dim, self.norm_eps, device)),
            proj: timm_linear(self.dim, self.dim, self.proj_bias, device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
            lambda_init: lambda_init(self.depth),
        }
    }
}

impl<B: VitBackend> DiffAttention<B> {
    /// Attends over `x [batch, tokens, dim]`; the maps come back when `need_weights`.
    pub fn forward_inner(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let heads = DiffHeads {
            lambdas: [
                &self.lambda_q1,
                &self.lambda_k1,
                &self.lambda_q2,
                &self.lambda_k2,
            ],
            sub_norm: &self.sub_norm,
            lambda_init: self.lambda_init,
            num_heads: self.num_heads,
        };
        let (out, weights) = heads.attend(linear(&self.qkv, x), &self.attn_drop, need_weights);
        let out = maybe_norm(&self.norm, out);
        (self.proj_drop.forward(linear(&self.proj, out)), weights)
    }
}
