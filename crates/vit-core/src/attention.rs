//! Multi-head self-attention with timm's fused `qkv` layout, and the attention maths shared
//! with the variants (Swin's window attention adds a bias through [`scaled_dot_product`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Tensor, backend::Backend};

use crate::init::timm_linear;

/// `softmax(q·kᵀ·scale + bias)·v` over `[batch, heads, tokens, head_dim]` tensors.
///
/// `bias` (e.g. Swin's relative position bias plus its shift mask) is added to the scores and
/// must broadcast to `[batch, heads, q_tokens, k_tokens]`. With `fused` (see
/// [`prefer_fused_attention`]), no weights requested and no attention dropout active, Burn's
/// fused attention op runs; otherwise the scores are materialised and, when `need_weights`,
/// returned as the second value.
#[allow(clippy::too_many_arguments)]
pub fn scaled_dot_product<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    bias: Option<Tensor<B, 4>>,
    scale: f64,
    attn_drop: &Dropout,
    fused: bool,
    need_weights: bool,
) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
    let dropout_active = attn_drop.prob > 0.0 && B::ad_enabled(&q.device());
    if fused && !need_weights && !dropout_active {
        let [b, h, nq, _] = q.dims();
        let nk = k.dims()[2];
        let bias = bias.map(|bias| bias.expand([b, h, nq, nk]));
        let options = AttentionModuleOptions {
            scale: Some(scale),
            ..Default::default()
        };
        return (attention(q, k, v, None, bias, options), None);
    }
    let mut scores = q.mul_scalar(scale).matmul(k.swap_dims(2, 3));
    if let Some(bias) = bias {
        scores = scores + bias;
    }
    let weights = softmax(scores, 3);
    let out = attn_drop.forward(weights.clone()).matmul(v);
    (out, need_weights.then_some(weights))
}

/// Splits a fused projection `[batch, tokens, G·heads·head_dim]` into its `G` parts, each
/// `[batch, heads, tokens, head_dim]` — timm's layout: `qkv` is `[q | k | v]`, each head-major.
pub fn split_heads<B: Backend, const G: usize>(x: Tensor<B, 3>, heads: usize) -> [Tensor<B, 4>; G] {
    let [b, n, width] = x.dims();
    let head_dim = width / (G * heads);
    let x = x.reshape([b, n, G * heads, head_dim]).swap_dims(1, 2);
    std::array::from_fn(|g| x.clone().narrow(1, g * heads, heads))
}

/// Joins per-head outputs `[batch, heads, tokens, head_dim]` into `[batch, tokens, heads·head_dim]`.
pub fn merge_heads<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, h, n, hd] = x.dims();
    x.swap_dims(1, 2).reshape([b, n, h * hd])
}

/// Whether Burn's fused attention op is the faster path on this backend.
///
/// Measured with Burn 0.21 on a 2-core x86 CPU, ViT-S/16 attention on `[8, 197, 384]`, 6 heads:
/// ndarray 47 ms fused vs 46 ms materialised, flex 56 ms vs 41 ms (whole ViT-Ti/16 forward at
/// batch 8 on flex: 425 vs 355 ms). The CPU backends gain nothing from it, so they take the
/// materialised path; GPU backends (CubeCL: wgpu, cuda) get flash-attention kernels from it.
pub fn prefer_fused_attention<B: Backend>(device: &B::Device) -> bool {
    let name = B::name(device);
    !(name.contains("ndarray") || name.contains("flex"))
}

/// Configuration of an [`Attention`] layer.
#[derive(Config, Debug)]
pub struct AttentionConfig {
    /// Token dimension (`embed_dim`).
    pub dim: usize,
    /// Number of heads; must divide `dim`.
    #[config(default = 8)]
    pub num_heads: usize,
    /// Whether the fused qkv projection has a bias.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the output projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
}

/// Multi-head self-attention: one `qkv` Linear (`dim → 3·dim`, timm's parameter layout),
/// scale `1/√head_dim`, softmax, output projection `proj`.
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// Fused query/key/value projection, output ordered `[q | k | v]`, each head-major.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Dropout on the attention weights.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// Number of heads.
    pub num_heads: usize,
    /// Use Burn's fused attention op when no weights are needed ([`prefer_fused_attention`]).
    pub fused: bool,
}

impl AttentionConfig {
    /// Builds the layer with timm's initialisation.
    ///
    /// # Panics
    /// If `num_heads` does not divide `dim` (checked earlier by the ViT config's validation).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Attention<B> {
        assert!(
            self.num_heads > 0 && self.dim % self.num_heads == 0,
            "attention dim {} is not divisible by num_heads {}",
            self.dim,
            self.num_heads
        );
        Attention {
            qkv: timm_linear(self.dim, 3 * self.dim, self.qkv_bias, device),
            proj: timm_linear(self.dim, self.dim, true, device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
            fused: prefer_fused_attention::<B>(device),
        }
    }
}

impl<B: Backend> Attention<B> {
    /// Self-attention over `x [batch, tokens, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.forward_inner(x, false).0
    }

    /// Self-attention that also hands back the attention weights
    /// `[batch, heads, tokens, tokens]` (each row sums to 1, before attention dropout).
    pub fn forward_with_weights(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (out, weights) = self.forward_inner(x, true);
        (out, weights.expect("weights requested"))
    }

    fn forward_inner(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        self_attention(
            &self.qkv,
            &self.proj,
            x,
            None,
            self.num_heads,
            [&self.attn_drop, &self.proj_drop],
            self.fused,
            need_weights,
        )
    }
}

/// Multi-head self-attention with timm's fused `qkv` and `proj` layers over `x [batch, tokens,
/// dim]`, with an optional additive `bias` on the scores (`[1 | batch, heads, tokens, tokens]`:
/// Swin's relative position bias and shift mask). `dropouts` are the attention-weight and output
/// dropouts. Shared by ViT's [`Attention`] and Swin's window attention.
#[allow(clippy::too_many_arguments)]
pub fn self_attention<B: Backend>(
    qkv: &Linear<B>,
    proj: &Linear<B>,
    x: Tensor<B, 3>,
    bias: Option<Tensor<B, 4>>,
    num_heads: usize,
    dropouts: [&Dropout; 2],
    fused: bool,
    need_weights: bool,
) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
    let [attn_drop, proj_drop] = dropouts;
    let [q, k, v] = split_heads(qkv.forward(x), num_heads);
    let head_dim = q.dims()[3];
    let scale = (head_dim as f64).powf(-0.5);
    let (out, weights) = scaled_dot_product(q, k, v, bias, scale, attn_drop, fused, need_weights);
    (proj_drop.forward(proj.forward(merge_heads(out))), weights)
}
