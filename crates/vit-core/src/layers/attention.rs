//! Multi-head self-attention with timm's fused `qkv` layout; Swin's window attention is this
//! layer with a bias on the scores ([`Attention::forward_biased`]).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::Tensor;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use std::sync::atomic::{AtomicU8, Ordering};
use vit_ops::VitBackend;

use crate::layers::init::timm_linear;
use crate::layers::linear::{linear, linear_parts};
use crate::layers::norm::{Norm, NormKind};
use crate::layers::rel_pos::{RelPos, RelPosConfig};
use crate::layers::rope::RopeTable;
use crate::precision::{from_autocast, to_autocast};

/// Environment variable read once: `VIT_ATTENTION=materialized` makes new attention layers
/// materialise their scores (see [`AttentionPath::preferred`]).
pub const ATTENTION_ENV_VAR: &str = "VIT_ATTENTION";

const UNSET: u8 = 0;
const FUSED: u8 = 1;
const MATERIALIZED: u8 = 2;
static PREFERRED: AtomicU8 = AtomicU8::new(UNSET);

/// Sets the path that attention layers built from now on take in this process (layers already
/// built keep theirs: set `layer.path` for those).
pub fn set_preferred_attention(path: AttentionPath) {
    let v = match path {
        AttentionPath::Fused => FUSED,
        AttentionPath::Materialized => MATERIALIZED,
    };
    PREFERRED.store(v, Ordering::Relaxed);
}

/// How the attention scores are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionPath {
    /// The backend's fused attention ([`vit_ops::attention`]): vit-ops' kernel straight from the
    /// `qkv` buffer on the CPU backends, Burn's flash-attention op on CubeCL ones. Falls back to
    /// [`Self::Materialized`] when the weights are wanted or attention dropout is active.
    Fused,
    /// Scores materialised as a `[batch, heads, tokens, tokens]` tensor with Burn ops, then
    /// softmax.
    Materialized,
}

impl AttentionPath {
    /// The faster path: [`Self::Fused`] on every backend. On the CPU backends Burn's own fused
    /// op was no faster than materialising (2026-11-26, ViT-S/16 `[8, 197, 384]`: ndarray 47 vs
    /// 46 ms), but vit-ops' kernel avoids the split/merge copies and runs the whole block per
    /// (image, head) (see `cargo xtask bench`).
    ///
    /// [`set_preferred_attention`] (or `VIT_ATTENTION=materialized|fused` in the environment)
    /// overrides it for layers built afterwards, e.g. to time both paths on a GPU.
    pub fn preferred<B: VitBackend>(_device: &B::Device) -> Self {
        match PREFERRED.load(Ordering::Relaxed) {
            FUSED => Self::Fused,
            MATERIALIZED => Self::Materialized,
            _ => {
                let path = match std::env::var(ATTENTION_ENV_VAR) {
                    Ok(v) if v.eq_ignore_ascii_case("materialized") => Self::Materialized,
                    Ok(v) if !v.is_empty() && !v.eq_ignore_ascii_case("fused") => {
                        eprintln!(
                            "warning: {ATTENTION_ENV_VAR}={v:?} is neither `fused` nor \
                             `materialized`; using fused attention"
                        );
                        Self::Fused
                    }
                    _ => Self::Fused,
                };
                set_preferred_attention(path);
                path
            }
        }
    }

    /// `softmax(q·kᵀ/√head_dim + bias)·v` over `[batch, heads, tokens, head_dim]` tensors
    /// `[q, k, v]`, with dropout on the weights; the weights come back too when `need_weights`.
    ///
    /// `bias` (Swin's relative position bias plus its shift mask) must broadcast to
    /// `[batch, heads, q_tokens, k_tokens]`.
    pub fn attend<B: VitBackend>(
        self,
        [q, k, v]: [Tensor<B, 4>; 3],
        bias: Option<Tensor<B, 4>>,
        attn_drop: &Dropout,
        need_weights: bool,
    ) -> (Tensor<B, 4>, Option<Tensor<B, 4>>) {
        let scale = (q.dims()[3] as f64).powf(-0.5);
        let dropout_active = attn_drop.prob > 0.0 && B::ad_enabled(&q.device());
        if self == Self::Fused && !need_weights && !dropout_active {
            let [b, h, nq, _] = q.dims();
            let nk = k.dims()[2];
            let bias = bias.map(|bias| bias.expand([b, h, nq, nk]));
            let options = AttentionModuleOptions {
                scale: Some(scale),
                ..Default::default()
            };
            let [q, k, v] = [q, k, v].map(to_autocast);
            let out = attention(q, k, v, None, bias.map(to_autocast), options);
            return (from_autocast(out), None);
        }
        // Under autocast the two products run in the low precision; the scores, their bias and
        // the softmax stay f32 (PyTorch's autocast runs softmax in f32).
        let scores = to_autocast(q.mul_scalar(scale)).matmul(to_autocast(k.swap_dims(2, 3)));
        let mut scores = from_autocast(scores);
        if let Some(bias) = bias {
            scores = scores + bias;
        }
        let weights = vit_ops::softmax_last(scores);
        let dropped = to_autocast(attn_drop.forward(weights.clone()));
        let out = from_autocast(dropped.matmul(to_autocast(v)));
        (out, need_weights.then_some(weights))
    }
}

/// Splits a fused projection `[batch, tokens, G·heads·head_dim]` into its `G` parts, each
/// `[batch, heads, tokens, head_dim]` — timm's layout: `qkv` is `[q | k | v]`, each head-major.
pub fn split_heads<B: VitBackend, const G: usize>(
    x: Tensor<B, 3>,
    heads: usize,
) -> [Tensor<B, 4>; G] {
    let [b, n, width] = x.dims();
    let head_dim = width / (G * heads);
    let x = x.reshape([b, n, G * heads, head_dim]).swap_dims(1, 2);
    std::array::from_fn(|g| x.clone().narrow(1, g * heads, heads))
}

/// Joins per-head outputs `[batch, heads, tokens, head_dim]` into `[batch, tokens, heads·head_dim]`.
pub fn merge_heads<B: VitBackend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, h, n, hd] = x.dims();
    x.swap_dims(1, 2).reshape([b, n, h * hd])
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
    /// timm `EvaAttention`'s bias layout: learned `q_bias` and `v_bias` beside a bias-free `qkv`,
    /// the key bias fixed at zero (with `qkv_bias`).
    #[config(default = false)]
    pub zero_k_bias: bool,
    /// Key/value heads for grouped-query attention (timm `AttentionRope`'s `num_kv_heads`): the
    /// `qkv` projection is `[q (heads) | k (kv) | v (kv)]` and head `i` reads key/value head
    /// `i / (heads / kv)`; `None`: as many as `num_heads`.
    #[config(default = "None")]
    pub num_kv_heads: Option<usize>,
    /// Whether the output projection has a bias (timm's `proj_bias`).
    #[config(default = true)]
    pub proj_bias: bool,
    /// A norm on the merged heads before the output projection (timm's `scale_attn_norm`:
    /// BEiT-3).
    #[config(default = "None")]
    pub scale_norm: Option<NormKind>,
    /// Norms on each head's queries and keys before the scores (timm's `qk_norm`: keys
    /// `attn.q_norm`, `attn.k_norm`).
    #[config(default = "None")]
    pub qk_norm: Option<NormKind>,
    /// Epsilon of these norms.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the output projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
    /// A relative position bias of this layer's own (timm key `attn.rel_pos`; BEiT's and
    /// ViT-relpos' per-block biases), for [`Self::rel_pos_grid`].
    #[config(default = "None")]
    pub rel_pos: Option<RelPosConfig>,
    /// The patch grid `[rows, cols]` the relative position bias is built for.
    #[config(default = "[0, 0]")]
    pub rel_pos_grid: [usize; 2],
    /// Tokens before the patches (the relative position bias treats them apart).
    #[config(default = 0)]
    pub prefix_tokens: usize,
}

/// What a block's attention needs to know about where its tokens sit, besides the tokens.
#[derive(Debug)]
pub struct TokenPositions<'a, B: VitBackend> {
    /// Rotary tables of the patch tokens' queries and keys.
    pub rope: Option<&'a RopeTable<B>>,
    /// A relative position bias `[heads, tokens, tokens]` shared by every block.
    pub shared_bias: Option<&'a Tensor<B, 3>>,
    /// The input's patch grid `[rows, cols]`.
    pub grid: [usize; 2],
}

impl<B: VitBackend> Clone for TokenPositions<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: VitBackend> Copy for TokenPositions<'_, B> {}

impl<B: VitBackend> TokenPositions<'_, B> {
    /// No rotary tables, no shared bias.
    pub fn none(grid: [usize; 2]) -> Self {
        Self {
            rope: None,
            shared_bias: None,
            grid,
        }
    }
}

/// Multi-head self-attention: one `qkv` Linear (`dim → 3·dim`, timm's parameter layout),
/// scale `1/√head_dim`, softmax, output projection `proj`.
#[derive(Module, Debug)]
pub struct Attention<B: VitBackend> {
    /// Fused query/key/value projection, output ordered `[q | k | v]`, each head-major.
    pub qkv: Linear<B>,
    /// The query bias `[dim]` of timm `EvaAttention`'s layout (`qkv` then has none).
    pub q_bias: Option<Param<Tensor<B, 1>>>,
    /// The value bias `[dim]` of that layout.
    pub v_bias: Option<Param<Tensor<B, 1>>>,
    /// Optional norm on each head's queries (timm key `attn.q_norm`).
    pub q_norm: Option<Norm<B>>,
    /// Optional norm on each head's keys (timm key `attn.k_norm`).
    pub k_norm: Option<Norm<B>>,
    /// Optional norm on the merged heads before `proj` (timm key `attn.norm`).
    pub norm: Option<Norm<B>>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Dropout on the attention weights.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// This layer's relative position bias (BEiT, ViT-relpos).
    pub rel_pos: Option<RelPos<B>>,
    /// Number of heads.
    pub num_heads: usize,
    /// Number of key/value heads (grouped-query attention when below `num_heads`).
    pub num_kv_heads: usize,
    /// How the scores are computed ([`AttentionPath::preferred`] for the backend).
    pub path: AttentionPath,
}

impl AttentionConfig {
    /// Builds the layer with timm's initialisation.
    ///
    /// # Panics
    /// If `num_heads` does not divide `dim` (checked earlier by the ViT config's validation).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Attention<B> {
        assert!(
            self.num_heads > 0 && self.dim.is_multiple_of(self.num_heads),
            "attention dim {} is not divisible by num_heads {}",
            self.dim,
            self.num_heads
        );
        let head_norm = || {
            self.qk_norm
                .map(|kind| kind.init(self.dim / self.num_heads, self.norm_eps, device))
        };
        let separate = self.qkv_bias && self.zero_k_bias;
        let kv = self.num_kv_heads.unwrap_or(self.num_heads);
        let qkv_width = self.dim + 2 * kv * (self.dim / self.num_heads);
        // timm zeroes EvaAttention's q_bias and v_bias at init.
        let bias = || separate.then(|| Param::from_tensor(Tensor::zeros([self.dim], device)));
        Attention {
            qkv: timm_linear(self.dim, qkv_width, self.qkv_bias && !separate, device),
            q_bias: bias(),
            v_bias: bias(),
            q_norm: head_norm(),
            k_norm: head_norm(),
            norm: self
                .scale_norm
                .map(|kind| kind.init(self.dim, self.norm_eps, device)),
            proj: timm_linear(self.dim, self.dim, self.proj_bias, device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            rel_pos: self.rel_pos.as_ref().map(|rel_pos| {
                rel_pos.init(
                    self.num_heads,
                    self.rel_pos_grid,
                    self.prefix_tokens,
                    device,
                )
            }),
            num_heads: self.num_heads,
            num_kv_heads: kv,
            path: AttentionPath::preferred::<B>(device),
        }
    }
}

impl<B: VitBackend> Attention<B> {
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
        // Called without positions (a model passes them with `forward_at`): a relative position
        // bias of its own reads the grid from the token count.
        let [_, n, _] = x.dims();
        let grid = match &self.rel_pos {
            Some(rel_pos) => rel_pos.grid_of(n),
            None => [1, n],
        };
        self.forward_at(x, TokenPositions::none(grid), need_weights)
    }

    /// Self-attention at `positions`: the patch tokens' queries and keys rotated by its rotary
    /// tables (after the query/key norms), the scores biased by this layer's relative position
    /// bias for its grid plus its shared bias; the weights come back when `need_weights`.
    pub fn forward_at(
        &self,
        x: Tensor<B, 3>,
        positions: TokenPositions<'_, B>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let own = self.rel_pos.as_ref().map(|r| r.bias(positions.grid));
        let bias = match (own, positions.shared_bias) {
            (Some(own), Some(shared)) => Some(own + shared.clone()),
            (own, shared) => own.or_else(|| shared.cloned()),
        };
        let mut layers = self.layers();
        layers.rope = positions.rope;
        layers.forward(x, bias.map(|b| b.unsqueeze::<4>()), need_weights)
    }

    /// Self-attention with an additive `bias` on the scores (see [`QkvAttention::forward`]).
    pub fn forward_biased(
        &self,
        x: Tensor<B, 3>,
        bias: Option<Tensor<B, 4>>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        self.layers().forward(x, bias, need_weights)
    }

    fn layers(&self) -> QkvAttention<'_, B> {
        QkvAttention {
            qkv: &self.qkv,
            qv_bias: self
                .q_bias
                .as_ref()
                .zip(self.v_bias.as_ref())
                .map(|(q, v)| [q, v]),
            q_norm: self.q_norm.as_ref(),
            k_norm: self.k_norm.as_ref(),
            rope: None,
            norm: self.norm.as_ref(),
            proj: &self.proj,
            attn_drop: &self.attn_drop,
            proj_drop: &self.proj_drop,
            num_heads: self.num_heads,
            num_kv_heads: self.num_kv_heads,
            logit_scale: None,
            path: self.path,
        }
    }
}

/// The layers of a timm-layout multi-head self-attention, borrowed from the module that owns
/// them (ViT's [`Attention`], Swin's window attention), so that every model runs the same code.
#[derive(Debug, Clone, Copy)]
pub struct QkvAttention<'a, B: VitBackend> {
    /// Fused query/key/value projection `dim → 3·dim`, output `[q | k | v]`, each head-major.
    pub qkv: &'a Linear<B>,
    /// Query and value biases added after a bias-free `qkv` (the key's is zero).
    pub qv_bias: Option<[&'a Param<Tensor<B, 1>>; 2]>,
    /// Optional norm on each head's queries.
    pub q_norm: Option<&'a Norm<B>>,
    /// Optional norm on each head's keys.
    pub k_norm: Option<&'a Norm<B>>,
    /// Rotary position embedding of the patch tokens' queries and keys (after their norms).
    pub rope: Option<&'a RopeTable<B>>,
    /// Optional norm on the merged heads before `proj`.
    pub norm: Option<&'a Norm<B>>,
    /// Output projection.
    pub proj: &'a Linear<B>,
    /// Dropout on the attention weights.
    pub attn_drop: &'a Dropout,
    /// Dropout after `proj`.
    pub proj_drop: &'a Dropout,
    /// Number of heads.
    pub num_heads: usize,
    /// Number of key/value heads (`num_heads` but for grouped-query attention).
    pub num_kv_heads: usize,
    /// Cosine attention (Swin V2): queries and keys L2-normalised per head, the scores scaled by
    /// `exp(min(logit_scale, ln 100))` per head (`[heads, 1, 1]`) instead of `1/√head_dim`.
    pub logit_scale: Option<&'a Param<Tensor<B, 3>>>,
    /// How the scores are computed.
    pub path: AttentionPath,
}

impl<B: VitBackend> QkvAttention<'_, B> {
    /// Self-attention over `x [batch, tokens, dim]` with an optional additive `bias` on the
    /// scores (`[1 | batch, heads, tokens, tokens]`: Swin's relative position bias and shift
    /// mask); the weights `[batch, heads, tokens, tokens]` come back when `need_weights`.
    pub fn forward(
        self,
        x: Tensor<B, 3>,
        bias: Option<Tensor<B, 4>>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let qkv = match self.qv_bias {
            // EvaAttention's `[q_bias | 0 | v_bias]`, folded into the projection's GEMM.
            Some([q, v]) => {
                let (q, v) = (q.val(), v.val());
                let bias = Tensor::cat(vec![q.clone(), q.zeros_like(), v], 0);
                linear_parts(x, self.qkv.weight.val(), Some(bias))
            }
            None => linear(self.qkv, x),
        };
        let dropout_active = self.attn_drop.prob > 0.0 && B::ad_enabled(&qkv.device());
        // Query/key norms and grouped key/value heads give one standard `qkv` buffer again (the
        // norms as vit-ops kernels, key/value heads repeated); rotary embeddings rotate its q/k
        // parts in one pass. Both paths below then read the buffer as any ViT's.
        let grouped = self.num_kv_heads != self.num_heads;
        let qkv = if self.q_norm.is_some() || self.k_norm.is_some() || grouped {
            self.normed_qkv(qkv)
        } else {
            qkv
        };
        let qkv = match self.rope {
            Some(rope) => rope.apply_to_qkv(qkv, self.num_heads),
            None => qkv,
        };
        // Cosine attention folds its per-head scale into the normalised queries: scale 1 below.
        let (qkv, scale) = match self.logit_scale {
            Some(logit_scale) => (cosine_qkv(qkv, logit_scale.val(), self.num_heads), 1.0),
            None => {
                let head_dim = qkv.dims()[2] / (3 * self.num_heads);
                (qkv, (head_dim as f64).powf(-0.5))
            }
        };
        let (out, weights) =
            if self.path == AttentionPath::Fused && !need_weights && !dropout_active {
                let out = vit_ops::attention(
                    to_autocast(qkv),
                    self.num_heads,
                    scale,
                    bias.map(to_autocast),
                );
                (from_autocast(out), None)
            } else {
                // Weights wanted, attention dropout or the materialised path: scores as a tensor.
                let [q, k, v] = split_heads(qkv, self.num_heads);
                // `attend` scales by 1/√head_dim: cosine attention's scale 1 undoes it.
                let q = if self.logit_scale.is_some() {
                    q.mul_scalar(scale * (head_dim_of(&k) as f64).sqrt())
                } else {
                    q
                };
                let path = AttentionPath::Materialized;
                let (out, weights) = path.attend([q, k, v], bias, self.attn_drop, need_weights);
                (merge_heads(out), weights)
            };
        let out = match self.norm {
            Some(norm) => norm.forward(out),
            None => out,
        };
        (self.proj_drop.forward(linear(self.proj, out)), weights)
    }

    /// `qkv [b, n, (heads + 2·kv)·d]` with the query/key norms applied per head and the key/value
    /// heads repeated to `heads`: a `[b, n, 3·heads·d]` buffer in timm's `qkv` layout.
    fn normed_qkv(&self, qkv: Tensor<B, 3>) -> Tensor<B, 3> {
        let (h, kv) = (self.num_heads, self.num_kv_heads);
        let [b, n, width] = qkv.dims();
        let d = width / (h + 2 * kv);
        let x = qkv.reshape([b, n, h + 2 * kv, d]);
        let norm = |t: Tensor<B, 4>, norm: Option<&Norm<B>>| match norm {
            Some(norm) => norm.forward(t),
            None => t,
        };
        let repeat = |t: Tensor<B, 4>| {
            if kv == h {
                return t;
            }
            t.reshape([b, n, kv, 1, d])
                .expand([b, n, kv, h / kv, d])
                .reshape([b, n, h, d])
        };
        let q = norm(x.clone().narrow(2, 0, h), self.q_norm);
        let k = repeat(norm(x.clone().narrow(2, h, kv), self.k_norm));
        let v = repeat(x.narrow(2, h + kv, kv));
        Tensor::cat(vec![q, k, v], 2).reshape([b, n, 3 * h * d])
    }
}

fn head_dim_of<B: VitBackend>(t: &Tensor<B, 4>) -> usize {
    t.dims()[3]
}

/// Swin V2's cosine attention on a `qkv [b, n, 3·heads·d]` buffer: queries and keys divided by
/// their L2 norm per head (at least 1e-12, as `F.normalize`), the queries then multiplied by
/// `exp(min(logit_scale, ln 100))` of their head (`logit_scale [heads, 1, 1]`), so that plain
/// attention with scale 1 gives timm's `normalize(q)·normalize(k)ᵀ·scale`.
pub fn cosine_qkv<B: VitBackend>(
    qkv: Tensor<B, 3>,
    logit_scale: Tensor<B, 3>,
    heads: usize,
) -> Tensor<B, 3> {
    let [b, n, width] = qkv.dims();
    let d = width / (3 * heads);
    let device = qkv.device();
    let x = qkv.reshape([b, n, 3, heads, d]);
    // Each (token, part, head) divided by its norm (the values by 1) — `F.normalize`'s own
    // rounding — then the queries multiplied by their head's scale: two passes over the buffer
    // (the values' norms are computed and discarded: cheaper than cutting the buffer apart and
    // joining it again).
    let norms = x.clone().powi_scalar(2).sum_dim(4).sqrt().clamp_min(1e-12);
    let ones = Tensor::<B, 5>::ones([1, 1, 1, heads, 1], &device);
    let not_values = Tensor::cat(vec![ones.clone(), ones.clone(), ones.zeros_like()], 2);
    let values = Tensor::cat(vec![ones.zeros_like(), ones.zeros_like(), ones.clone()], 2);
    let divisor = norms * not_values + values;
    let scale = logit_scale
        .clamp_max(100f64.ln())
        .exp()
        .reshape([1, 1, 1, heads, 1]);
    let multiplier = Tensor::cat(vec![scale, ones.clone(), ones], 2);
    (x / divisor * multiplier).reshape([b, n, width])
}
