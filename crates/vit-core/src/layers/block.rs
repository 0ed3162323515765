//! The transformer encoder block: timm's pre-norm `Block` and its post-norm `ResPostBlock`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::layers::activation::Activation;
use crate::layers::attention::{Attention, AttentionConfig, TokenPositions};
use crate::layers::diff_attention::{DiffAttention, DiffAttentionConfig};
use crate::layers::drop_path::DropPath;
use crate::layers::layer_scale::LayerScale;
use crate::layers::mlp::{Mlp, MlpConfig, MlpKind, mlp_hidden};
use crate::layers::norm::{Norm, NormKind};
use crate::layers::parallel_block::{ParallelBlockConfig, ParallelScalingBlock};
use crate::layers::rel_pos::RelPosConfig;

/// Which block the encoder stacks (timm's `block_fn`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Pre-norm: `x + LS(Attn(Norm(x)))`, then `x + LS(MLP(Norm(x)))` (timm `Block`).
    #[default]
    Block,
    /// Post-norm: `x + Norm(Attn(x))`, then `x + Norm(MLP(x))`; the norms' scales start at
    /// `init_values` and there is no LayerScale (timm `ResPostBlock`).
    ResPostBlock,
    /// Attention and MLP in parallel from one norm and one input projection, their outputs
    /// projected separately and added (timm `ParallelScalingBlock`).
    ParallelScalingBlock,
    /// The parallel block with differential attention and one fused output projection (timm
    /// `DiffParallelScalingBlock`).
    DiffParallelScalingBlock,
}

impl BlockKind {
    /// Whether the block is one of the parallel forms.
    pub fn is_parallel(self) -> bool {
        matches!(
            self,
            Self::ParallelScalingBlock | Self::DiffParallelScalingBlock
        )
    }
}

/// Which attention a block uses (timm's `attn_layer`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AttnLayer {
    /// Multi-head self-attention (timm `Attention`).
    #[default]
    Attention,
    /// Differential attention (timm `DiffAttention`, `'diff'`).
    Diff,
}

/// Configuration of a [`Block`].
#[derive(Config, Debug)]
pub struct BlockConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP hidden size as a multiple of `dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Bias on the attention output projection and the MLP's projections (timm's `proj_bias`).
    #[config(default = true)]
    pub proj_bias: bool,
    /// A norm on the attention's merged heads before its projection (`scale_attn_norm`).
    #[config(default = false)]
    pub scale_attn_norm: bool,
    /// A norm on the MLP's hidden activation before `fc2` (`scale_mlp_norm`).
    #[config(default = false)]
    pub scale_mlp_norm: bool,
    /// Norms on each head's queries and keys (`qk_norm`).
    #[config(default = false)]
    pub qk_norm: bool,
    /// timm `EvaAttention`'s `q_bias`/`v_bias` beside a bias-free `qkv` (zero key bias).
    #[config(default = false)]
    pub zero_k_bias: bool,
    /// Key/value heads (grouped-query attention); `None`: `num_heads`.
    #[config(default = "None")]
    pub num_kv_heads: Option<usize>,
    /// LayerScale on the attention branch only (timm Eva's `attn_only_layer_scale`).
    #[config(default = false)]
    pub attn_only_layer_scale: bool,
    /// The MLP's hidden width rounded up to a multiple of this (timm's `swiglu_align_to`; 0: as
    /// `mlp_ratio` gives it).
    #[config(default = 0)]
    pub mlp_align_to: usize,
    /// Dropout after the attention and MLP projections.
    #[config(default = 0.0)]
    pub proj_drop: f64,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Stochastic-depth rate of this block.
    #[config(default = 0.0)]
    pub drop_path: f64,
    /// LayerScale initial value; `None` disables LayerScale.
    #[config(default = "None")]
    pub init_values: Option<f64>,
    /// `Mlp`, SwiGLU or packed SwiGLU.
    #[config(default = "MlpKind::Mlp")]
    pub mlp_kind: MlpKind,
    /// The MLP's activation.
    #[config(default = "Activation::Gelu")]
    pub act: Activation,
    /// LayerNorm or RMSNorm, for every norm of the block.
    #[config(default = "NormKind::LayerNorm")]
    pub norm: NormKind,
    /// Norm epsilon.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
    /// Pre-norm, post-norm or parallel.
    #[config(default = "BlockKind::Block")]
    pub kind: BlockKind,
    /// Plain or differential attention (pre- and post-norm blocks).
    #[config(default = "AttnLayer::Attention")]
    pub attn_layer: AttnLayer,
    /// The block's index in the encoder (differential attention's `λ_init` depends on it).
    #[config(default = 0)]
    pub index: usize,
    /// The attention's own relative position bias (BEiT, ViT-relpos), for `rel_pos_grid`.
    #[config(default = "None")]
    pub rel_pos: Option<RelPosConfig>,
    /// The patch grid the relative position bias is built for.
    #[config(default = "[0, 0]")]
    pub rel_pos_grid: [usize; 2],
    /// Tokens before the patches.
    #[config(default = 0)]
    pub prefix_tokens: usize,
}

/// The attention of a [`Block`]: timm's `Attention` or `DiffAttention` (same key prefix `attn`).
// Built once, moved rarely; boxing would need `Module` for `Box`, which Burn lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum BlockAttention<B: VitBackend> {
    /// Multi-head self-attention.
    Attention(Attention<B>),
    /// Differential attention.
    Diff(DiffAttention<B>),
}

impl<B: VitBackend> BlockAttention<B> {
    /// Attends over `x [batch, tokens, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Self::Attention(attn) => attn.forward(x),
            Self::Diff(attn) => attn.forward_inner(x, false).0,
        }
    }

    /// Attends and returns the maps `[batch, heads, tokens, tokens]` (differential attention:
    /// `A₁ − λ·A₂`, rows summing to `1 − λ`).
    pub fn forward_with_weights(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        match self {
            Self::Attention(attn) => attn.forward_with_weights(x),
            Self::Diff(attn) => {
                let (out, weights) = attn.forward_inner(x, true);
                (out, weights.expect("weights requested"))
            }
        }
    }

    /// The plain attention, if this is one.
    pub fn as_attention(&self) -> Option<&Attention<B>> {
        match self {
            Self::Attention(attn) => Some(attn),
            Self::Diff(_) => None,
        }
    }
}

/// A transformer block with timm's parameter names (`norm1`, `attn`, `ls1`, `norm2`, `mlp`,
/// `ls2`): pre-norm ([`BlockKind::Block`]) or post-norm ([`BlockKind::ResPostBlock`]).
#[derive(Module, Debug)]
pub struct Block<B: VitBackend> {
    /// Norm before attention (after it, post-norm).
    pub norm1: Norm<B>,
    /// Multi-head self-attention (plain or differential).
    pub attn: BlockAttention<B>,
    /// LayerScale on the attention branch.
    pub ls1: Option<LayerScale<B>>,
    /// Norm before the MLP (after it, post-norm).
    pub norm2: Norm<B>,
    /// Feed-forward network.
    pub mlp: Mlp<B>,
    /// LayerScale on the MLP branch.
    pub ls2: Option<LayerScale<B>>,
    /// Stochastic depth on both branches.
    pub drop_path: DropPath,
    /// Pre-norm or post-norm.
    pub kind: BlockKind,
}

impl BlockConfig {
    /// Builds the block with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Block<B> {
        let post_norm = self.kind == BlockKind::ResPostBlock;
        let norm = || {
            let mut norm = self.norm.init(self.dim, self.norm_eps, device);
            // timm's ResPostBlock starts its norms' scales at `init_values`.
            if let (true, Some(v), Norm::LayerNorm(ln)) = (post_norm, self.init_values, &mut norm) {
                ln.gamma =
                    burn::module::Initializer::Constant { value: v }.init([self.dim], device);
            }
            norm
        };
        let layer_scale = || {
            self.init_values
                .filter(|_| !post_norm)
                .map(|v| LayerScale::new(self.dim, v, device))
        };
        let inner_norm = |on: bool| on.then_some(self.norm);
        let attn = match self.attn_layer {
            AttnLayer::Attention => BlockAttention::Attention(
                AttentionConfig::new(self.dim)
                    .with_num_heads(self.num_heads)
                    .with_qkv_bias(self.qkv_bias)
                    .with_proj_bias(self.proj_bias)
                    .with_scale_norm(inner_norm(self.scale_attn_norm))
                    .with_qk_norm(inner_norm(self.qk_norm))
                    .with_zero_k_bias(self.zero_k_bias)
                    .with_num_kv_heads(self.num_kv_heads)
                    .with_norm_eps(self.norm_eps)
                    .with_attn_drop(self.attn_drop)
                    .with_proj_drop(self.proj_drop)
                    .with_rel_pos(self.rel_pos.clone())
                    .with_rel_pos_grid(self.rel_pos_grid)
                    .with_prefix_tokens(self.prefix_tokens)
                    .init(device),
            ),
            AttnLayer::Diff => BlockAttention::Diff(
                DiffAttentionConfig::new(self.dim, self.num_heads)
                    .with_depth(self.index)
                    .with_qkv_bias(self.qkv_bias)
                    .with_proj_bias(self.proj_bias)
                    .with_scale_norm(inner_norm(self.scale_attn_norm))
                    .with_norm_eps(self.norm_eps)
                    .with_attn_drop(self.attn_drop)
                    .with_proj_drop(self.proj_drop)
                    .init(device),
            ),
        };
        Block {
            norm1: norm(),
            attn,
            ls1: layer_scale(),
            norm2: norm(),
            mlp: MlpConfig::new(self.dim, self.mlp_hidden())
                .with_kind(self.mlp_kind)
                .with_act(self.act)
                .with_bias(self.proj_bias)
                .with_norm(inner_norm(self.scale_mlp_norm))
                .with_norm_eps(self.norm_eps)
                .with_drop(self.proj_drop)
                .init(device),
            ls2: layer_scale().filter(|_| !self.attn_only_layer_scale),
            drop_path: DropPath::new(self.drop_path),
            kind: self.kind,
        }
    }
}

impl BlockConfig {
    /// The MLP's hidden width: `mlp_ratio · dim`, rounded up to `mlp_align_to`.
    pub fn mlp_hidden(&self) -> usize {
        aligned_hidden(mlp_hidden(self.dim, self.mlp_ratio), self.mlp_align_to)
    }

    /// Builds the block of `kind`: a [`Block`] (pre- or post-norm) or a parallel one.
    pub fn init_encoder<B: VitBackend>(&self, device: &B::Device) -> EncoderBlock<B> {
        if !self.kind.is_parallel() {
            return EncoderBlock::Block(self.init(device));
        }
        EncoderBlock::Parallel(
            ParallelBlockConfig {
                dim: self.dim,
                num_heads: self.num_heads,
                mlp_ratio: self.mlp_ratio,
                qkv_bias: self.qkv_bias,
                proj_bias: self.proj_bias,
                init_values: self.init_values,
                act: self.act,
                norm: self.norm,
                norm_eps: self.norm_eps,
                differential: self.kind == BlockKind::DiffParallelScalingBlock,
                depth: self.index,
                drop_path: self.drop_path,
                attn_drop: self.attn_drop,
                proj_drop: self.proj_drop,
            }
            .init(device),
        )
    }
}

/// One block of a ViT encoder, in any of timm's forms (same keys as timm's, the variant adds
/// none).
// Built once, moved rarely; boxing would need `Module` for `Box`, which Burn lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum EncoderBlock<B: VitBackend> {
    /// Pre- or post-norm block.
    Block(Block<B>),
    /// Parallel block (plain or differential attention).
    Parallel(ParallelScalingBlock<B>),
}

impl<B: VitBackend> EncoderBlock<B> {
    /// Runs the block on `x [batch, tokens, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Self::Block(block) => block.forward(x),
            Self::Parallel(block) => block.forward_inner(x, false).0,
        }
    }

    /// Runs the block and also returns its attention maps `[batch, heads, tokens, tokens]`.
    pub fn forward_with_attention(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        match self {
            Self::Block(block) => block.forward_with_attention(x),
            Self::Parallel(block) => {
                let (out, weights) = block.forward_inner(x, true);
                (out, weights.expect("weights requested"))
            }
        }
    }

    /// Runs the block at `positions` (rotary tables, shared relative position bias: pre- and
    /// post-norm blocks with plain attention; the configs refuse them with parallel or
    /// differential blocks), with the attention maps when `need_weights`.
    pub fn forward_at(
        &self,
        x: Tensor<B, 3>,
        positions: TokenPositions<'_, B>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        match self {
            Self::Block(block) => block.forward_at(x, positions, need_weights),
            _ if need_weights => {
                let (out, weights) = self.forward_with_attention(x);
                (out, Some(weights))
            }
            _ => (self.forward(x), None),
        }
    }

    /// The pre-/post-norm block, if this is one.
    pub fn as_block(&self) -> Option<&Block<B>> {
        match self {
            Self::Block(block) => Some(block),
            Self::Parallel(_) => None,
        }
    }
}

impl<B: VitBackend> Block<B> {
    /// Runs the block on `x [batch, tokens, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let attn = self.attn.forward(self.attention_input(x.clone()));
        self.finish(x, attn)
    }

    /// Runs the block and also returns its attention weights `[batch, heads, tokens, tokens]`.
    pub fn forward_with_attention(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (attn, weights) = self
            .attn
            .forward_with_weights(self.attention_input(x.clone()));
        (self.finish(x, attn), weights)
    }

    /// Runs the block at `positions` (rotary tables, shared relative position bias), the
    /// attention weights coming back when `need_weights`. Differential attention has no
    /// positions (the configs refuse them with it) and runs as it is.
    pub fn forward_at(
        &self,
        x: Tensor<B, 3>,
        positions: TokenPositions<'_, B>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let input = self.attention_input(x.clone());
        let (out, weights) = match &self.attn {
            BlockAttention::Attention(attn) => attn.forward_at(input, positions, need_weights),
            BlockAttention::Diff(_) if need_weights => {
                let (out, weights) = self.attn.forward_with_weights(input);
                (out, Some(weights))
            }
            BlockAttention::Diff(_) => (self.attn.forward(input), None),
        };
        (self.finish(x, out), weights)
    }

    /// What the attention sees: the normed tokens (pre-norm) or the tokens (post-norm).
    fn attention_input(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self.kind {
            BlockKind::Block => self.norm1.forward(x),
            _ => x,
        }
    }

    /// The two residual additions around an attention output already computed from `x`.
    fn finish(&self, x: Tensor<B, 3>, attn: Tensor<B, 3>) -> Tensor<B, 3> {
        match self.kind {
            BlockKind::Block => {
                let x = x + self.drop_path.forward(scale(&self.ls1, attn));
                let mlp = self.mlp.forward(self.norm2.forward(x.clone()));
                x + self.drop_path.forward(scale(&self.ls2, mlp))
            }
            _ => {
                let x = x + self.drop_path.forward(self.norm1.forward(attn));
                let mlp = self.norm2.forward(self.mlp.forward(x.clone()));
                x + self.drop_path.forward(mlp)
            }
        }
    }
}

/// `hidden` rounded up to a multiple of `align_to` (0: unchanged), as timm's `SwiGLU(align_to)`.
pub fn aligned_hidden(hidden: usize, align_to: usize) -> usize {
    if align_to == 0 {
        hidden
    } else {
        hidden.div_ceil(align_to) * align_to
    }
}

fn scale<B: VitBackend>(ls: &Option<LayerScale<B>>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    match ls {
        Some(ls) => ls.forward(x),
        None => x,
    }
}
