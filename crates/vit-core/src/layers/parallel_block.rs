//! timm's parallel blocks (`ParallelScalingBlock`, ViT-22B's layout, and its differential form
//! `DiffParallelScalingBlock`): one norm, one input projection for the MLP's hidden layer and
//! q/k/v together, attention and MLP side by side, their outputs projected and added once.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear};
use burn::tensor::Tensor;
use vit_ops::VitBackend;

use crate::layers::activation::Activation;
use crate::layers::attention::{AttentionPath, merge_heads, split_heads};
use crate::layers::diff_attention::{DiffHeads, diff_parts, lambda_init};
use crate::layers::drop_path::DropPath;
use crate::layers::init::timm_linear;
use crate::layers::layer_scale::LayerScale;
use crate::layers::linear::linear;
use crate::layers::mlp::mlp_hidden;
use crate::layers::norm::{Norm, NormKind, RmsNorm};

/// The numbers a parallel block is built from (the ViT config's, for block `depth`).
#[derive(Debug, Clone)]
pub struct ParallelBlockConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP hidden size as a multiple of `dim`.
    pub mlp_ratio: f64,
    /// Bias on the input projection (else a separate `mlp_bias` on the MLP part only).
    pub qkv_bias: bool,
    /// Bias on the output projection(s).
    pub proj_bias: bool,
    /// LayerScale initial value.
    pub init_values: Option<f64>,
    /// The MLP's activation.
    pub act: Activation,
    /// The input norm.
    pub norm: NormKind,
    /// Its epsilon.
    pub norm_eps: f64,
    /// Differential attention (`DiffParallelScalingBlock`, one fused output projection) or
    /// plain attention (`ParallelScalingBlock`, separate output projections).
    pub differential: bool,
    /// The block's index (sets `λ_init` of differential attention).
    pub depth: usize,
    /// Stochastic depth of the block.
    pub drop_path: f64,
    /// Dropout on the attention maps.
    pub attn_drop: f64,
    /// Dropout after the MLP activation.
    pub proj_drop: f64,
}

/// A parallel block; timm keys `in_norm`, `in_proj`, `mlp_bias`, `attn_out_proj` /
/// `mlp_out_proj` (or `out_proj`), `ls`, and for the differential form `lambda_*`, `sub_norm`.
#[derive(Module, Debug)]
pub struct ParallelScalingBlock<B: VitBackend> {
    /// The one norm.
    pub in_norm: Norm<B>,
    /// `dim → hidden + 3·dim`: `[mlp | q | k | v]`.
    pub in_proj: Linear<B>,
    /// The MLP part's bias when `in_proj` has none.
    pub mlp_bias: Option<Param<Tensor<B, 1>>>,
    /// Attention output projection (plain form).
    pub attn_out_proj: Option<Linear<B>>,
    /// MLP output projection (plain form).
    pub mlp_out_proj: Option<Linear<B>>,
    /// Fused output projection of `[attention | mlp]` (differential form).
    pub out_proj: Option<Linear<B>>,
    /// `λq1` (differential form).
    pub lambda_q1: Option<Param<Tensor<B, 1>>>,
    /// `λk1`.
    pub lambda_k1: Option<Param<Tensor<B, 1>>>,
    /// `λq2`.
    pub lambda_q2: Option<Param<Tensor<B, 1>>>,
    /// `λk2`.
    pub lambda_k2: Option<Param<Tensor<B, 1>>>,
    /// RMSNorm of each differential head's output.
    pub sub_norm: Option<RmsNorm<B>>,
    /// LayerScale on the sum.
    pub ls: Option<LayerScale<B>>,
    /// Dropout on the attention maps.
    pub attn_drop: Dropout,
    /// Dropout after the MLP activation.
    pub mlp_drop: Dropout,
    /// Stochastic depth.
    pub drop_path: DropPath,
    /// The MLP's activation.
    pub act: Activation,
    /// Heads.
    pub num_heads: usize,
    /// `λ_init` of the block (differential form).
    pub lambda_init: f64,
}

impl ParallelBlockConfig {
    /// Builds the block with timm's initialisation.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> ParallelScalingBlock<B> {
        let d = self.dim;
        let hidden = mlp_hidden(d, self.mlp_ratio);
        let (diff, sub_norm) = if self.differential {
            let (lambdas, norm) = diff_parts(d / self.num_heads / 2, device);
            (Some(lambdas), Some(norm))
        } else {
            (None, None)
        };
        let [lambda_q1, lambda_k1, lambda_q2, lambda_k2] = match diff {
            Some(l) => l.map(Some),
            None => [None, None, None, None],
        };
        let separate = !self.differential;
        ParallelScalingBlock {
            in_norm: self.norm.init(d, self.norm_eps, device),
            in_proj: timm_linear(d, hidden + 3 * d, self.qkv_bias, device),
            mlp_bias: (!self.qkv_bias).then(|| Initializer::Zeros.init([hidden], device)),
            attn_out_proj: separate.then(|| timm_linear(d, d, self.proj_bias, device)),
            mlp_out_proj: separate.then(|| timm_linear(hidden, d, self.proj_bias, device)),
            out_proj: (!separate).then(|| timm_linear(d + hidden, d, self.proj_bias, device)),
            lambda_q1,
            lambda_k1,
            lambda_q2,
            lambda_k2,
            sub_norm,
            ls: self.init_values.map(|v| LayerScale::new(d, v, device)),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            mlp_drop: DropoutConfig::new(self.proj_drop).init(),
            drop_path: DropPath::new(self.drop_path),
            act: self.act,
            num_heads: self.num_heads,
            lambda_init: lambda_init(self.depth),
        }
    }
}

impl<B: VitBackend> ParallelScalingBlock<B> {
    /// Runs the block on `x [batch, tokens, dim]`; the attention maps come back when
    /// `need_weights`.
    pub fn forward_inner(
        &self,
        x: Tensor<B, 3>,
        need_weights: bool,
    ) -> (Tensor<B, 3>, Option<Tensor<B, 4>>) {
        let [_, _, d] = x.dims();
        let y = linear(&self.in_proj, self.in_norm.forward(x.clone()));
        let width = y.dims()[2];
        let hidden = width - 3 * d;
        let mut x_mlp = y.clone().narrow(2, 0, hidden);
        if let Some(bias) = &self.mlp_bias {
            x_mlp = x_mlp + bias.val().unsqueeze();
        }
        let qkv = y.narrow(2, hidden, 3 * d);
        let (x_attn, weights) = match (
            &self.lambda_q1,
            &self.lambda_k1,
            &self.lambda_q2,
            &self.lambda_k2,
            &self.sub_norm,
        ) {
            (Some(q1), Some(k1), Some(q2), Some(k2), Some(sub_norm)) => DiffHeads {
                lambdas: [q1, k1, q2, k2],
                sub_norm,
                lambda_init: self.lambda_init,
                num_heads: self.num_heads,
            }
            .attend(qkv, &self.attn_drop, need_weights),
            _ => {
                // `[q | k | v]` is timm's fused qkv layout: vit-ops' attention reads it directly,
                // unless the maps are wanted or attention dropout is on.
                let dropout_active = self.attn_drop.prob > 0.0 && B::ad_enabled(&qkv.device());
                if need_weights || dropout_active {
                    let qkv = split_heads(qkv, self.num_heads);
                    let path = AttentionPath::Materialized;
                    let (out, weights) = path.attend(qkv, None, &self.attn_drop, need_weights);
                    (merge_heads(out), weights)
                } else {
                    let scale = ((d / self.num_heads) as f64).powf(-0.5);
                    (vit_ops::attention(qkv, self.num_heads, scale, None), None)
                }
            }
        };
        let x_mlp = self.mlp_drop.forward(self.act.forward(x_mlp));
        let out = match (&self.out_proj, &self.attn_out_proj, &self.mlp_out_proj) {
            (Some(out_proj), _, _) => linear(out_proj, Tensor::cat(vec![x_attn, x_mlp], 2)),
            (None, Some(attn_out), Some(mlp_out)) => {
                linear(attn_out, x_attn) + linear(mlp_out, x_mlp)
            }
            _ => unreachable!("a parallel block has a fused or two separate output projections"),
        };
        let out = match &self.ls {
            Some(ls) => ls.forward(out),
            None => out,
        };
        (x + self.drop_path.forward(out), weights)
    }
}
