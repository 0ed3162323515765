//! The pre-norm transformer encoder block.

use crate::layers::{LayerNorm, LayerNormConfig};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::layers::attention::{Attention, AttentionConfig};
use crate::layers::drop_path::DropPath;
use crate::layers::layer_scale::LayerScale;
use crate::layers::mlp::{Mlp, MlpConfig, MlpKind, mlp_hidden};

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
    /// GELU MLP or SwiGLU.
    #[config(default = "MlpKind::Gelu")]
    pub mlp_kind: MlpKind,
    /// LayerNorm epsilon.
    #[config(default = 1e-6)]
    pub norm_eps: f64,
}

/// `x + DropPath(LS(Attn(LN(x))))`, then `x + DropPath(LS(MLP(LN(x))))` (timm's `Block`).
#[derive(Module, Debug)]
pub struct Block<B: VitBackend> {
    /// Norm before attention.
    pub norm1: LayerNorm<B>,
    /// Multi-head self-attention.
    pub attn: Attention<B>,
    /// LayerScale on the attention branch.
    pub ls1: Option<LayerScale<B>>,
    /// Norm before the MLP.
    pub norm2: LayerNorm<B>,
    /// Feed-forward network.
    pub mlp: Mlp<B>,
    /// LayerScale on the MLP branch.
    pub ls2: Option<LayerScale<B>>,
    /// Stochastic depth on both branches.
    pub drop_path: DropPath,
}

impl BlockConfig {
    /// Builds the block with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Block<B> {
        let norm = || {
            LayerNormConfig::new(self.dim)
                .with_epsilon(self.norm_eps)
                .init(device)
        };
        let layer_scale = || {
            self.init_values
                .map(|v| LayerScale::new(self.dim, v, device))
        };
        Block {
            norm1: norm(),
            attn: AttentionConfig::new(self.dim)
                .with_num_heads(self.num_heads)
                .with_qkv_bias(self.qkv_bias)
                .with_attn_drop(self.attn_drop)
                .with_proj_drop(self.proj_drop)
                .init(device),
            ls1: layer_scale(),
            norm2: norm(),
            mlp: MlpConfig::new(self.dim, mlp_hidden(self.dim, self.mlp_ratio))
                .with_kind(self.mlp_kind)
                .with_drop(self.proj_drop)
                .init(device),
            ls2: layer_scale(),
            drop_path: DropPath::new(self.drop_path),
        }
    }
}

impl<B: VitBackend> Block<B> {
    /// Runs the block on `x [batch, tokens, dim]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let attn = self.attn.forward(self.norm1.forward(x.clone()));
        self.finish(x, attn)
    }

    /// Runs the block and also returns its attention weights `[batch, heads, tokens, tokens]`.
    pub fn forward_with_attention(&self, x: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 4>) {
        let (attn, weights) = self
            .attn
            .forward_with_weights(self.norm1.forward(x.clone()));
        (self.finish(x, attn), weights)
    }

    /// The two residual additions around an attention output already computed from `x`.
    fn finish(&self, x: Tensor<B, 3>, attn: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x + self.drop_path.forward(scale(&self.ls1, attn));
        let mlp = self.mlp.forward(self.norm2.forward(x.clone()));
        x + self.drop_path.forward(scale(&self.ls2, mlp))
    }
}

fn scale<B: VitBackend>(ls: &Option<LayerScale<B>>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    match ls {
        Some(ls) => ls.forward(x),
        None => x,
    }
}
