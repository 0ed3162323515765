//! Swin's window attention: multi-head self-attention inside each window, plus a bias per
//! relative position (and, for shifted windows, a mask). V1 learns the bias as a table; V2
//! computes it with a small MLP of log-spaced offsets (its continuous position bias, vit-core's
//! [`RelPosMlp`] in Swin's mode) and attends with cosine similarity. The attention itself is
//! vit-core's [`QkvAttention`].

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Int, Tensor, TensorData};
use vit_core::VitBackend;
use vit_core::layers::attention::{AttentionPath, QkvAttention};
use vit_core::layers::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use vit_core::layers::rel_pos::{RelPos, RelPosConfig, RelPosKind, RelPosMlp, RelPosMlpMode};
use vit_core::layers::rel_pos_bias::{relative_position_index, resize_rel_pos_bias_table};

use crate::swin::model::SwinVersion;

/// Configuration of a [`WindowAttention`].
#[derive(Config, Debug)]
pub struct WindowAttentionConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Window `[height, width]` in tokens.
    pub window: [usize; 2],
    /// Bias on the qkv projection (V2: learned query and value biases, none on the key).
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Dropout after the output projection.
    #[config(default = 0.0)]
    pub proj_drop: f64,
    /// V1 (bias table, scaled dot products) or V2 (bias MLP, cosine attention).
    #[config(default = "SwinVersion::V1")]
    pub version: SwinVersion,
    /// V2: the window the bias MLP's offsets are normalised to (`pretrained_window_size`; 0:
    /// the window itself).
    #[config(default = 0)]
    pub pretrained_window: usize,
}

/// Window attention with a relative position bias (timm's `WindowAttention` of Swin V1 or V2,
/// same keys but V2's `cpb_mlp.0`/`cpb_mlp.2`, read as `cpb_mlp.mlp.fc1`/`fc2`).
#[derive(Module, Debug)]
pub struct WindowAttention<B: VitBackend> {
    /// Fused query/key/value projection.
    pub qkv: Linear<B>,
    /// V2's query bias beside a bias-free `qkv` (the key has none).
    pub q_bias: Option<Param<Tensor<B, 1>>>,
    /// V2's value bias.
    pub v_bias: Option<Param<Tensor<B, 1>>>,
    /// Output projection.
    pub proj: Linear<B>,
    /// V1: one learned bias per relative offset and head: `[(2·Wh−1)·(2·Ww−1), heads]`.
    pub relative_position_bias_table: Option<Param<Tensor<B, 2>>>,
    /// V1: which table row each (query, key) pair of a window reads, `[N·N]` (computed, not
    /// saved).
    pub relative_position_index: Option<Tensor<B, 1, Int>>,
    /// V2: the continuous position bias MLP (`2 → 512 → heads`, `16·sigmoid`).
    pub cpb_mlp: Option<RelPosMlp<B>>,
    /// V2: the cosine attention's learned log scale per head `[heads, 1, 1]`.
    pub logit_scale: Option<Param<Tensor<B, 3>>>,
    /// Dropout on the attention weights.
    pub attn_drop: Dropout,
    /// Dropout after the projection.
    pub proj_drop: Dropout,
    /// Attention heads.
    pub num_heads: usize,
    /// Window `[height, width]`.
    pub window: [usize; 2],
    /// How the scores are computed.
    pub path: AttentionPath,
}

fn index_tensor<B: VitBackend>(window: [usize; 2], device: &B::Device) -> Tensor<B, 1, Int> {
    let index = relative_position_index(window, false);
    let n = index.len();
    Tensor::from_data(TensorData::new(index, [n]), device)
}

impl WindowAttentionConfig {
    /// Builds the module as timm initialises it (V1's table trunc-normal(0.02); V2's log scale
    /// ln 10, its q/v biases zero).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> WindowAttention<B> {
        let [wh, ww] = self.window;
        let v2 = self.version == SwinVersion::V2;
        let table = [(2 * wh - 1) * (2 * ww - 1), self.num_heads];
        let heads = self.num_heads;
        let dim = self.dim;
        let separate = v2 && self.qkv_bias;
        let bias = || separate.then(|| Param::from_tensor(Tensor::zeros([dim], device)));
        let cpb_mlp = v2.then(|| {
            let config = RelPosConfig::new()
                .with_kind(RelPosKind::Mlp)
                .with_mode(RelPosMlpMode::Swin)
                .with_hidden_dim(512)
                .with_mlp_drop(0.0)
                .with_pretrained_window(Some([self.pretrained_window; 2]));
            match config.init(heads, self.window, 0, device) {
                RelPos::Mlp(mlp) => mlp,
                RelPos::Table(_) => unreachable!("an MLP config builds an MLP"),
            }
        });
        WindowAttention {
            qkv: timm_linear(dim, 3 * dim, self.qkv_bias && !v2, device),
            q_bias: bias(),
            v_bias: bias(),
            proj: timm_linear(dim, dim, true, device),
            relative_position_bias_table: (!v2).then(|| {
                lazy_param(table, device, move |device| {
                    trunc_normal_timm(table, TIMM_INIT_STD, device)
                })
            }),
            relative_position_index: (!v2).then(|| index_tensor(self.window, device)),
            cpb_mlp,
            logit_scale: v2.then(|| {
                lazy_param([heads, 1, 1], device, move |device| {
                    Tensor::full([heads, 1, 1], 10f64.ln(), device)
                })
            }),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
            window: self.window,
            path: AttentionPath::preferred::<B>(device),
        }
    }
}

impl<B: VitBackend> WindowAttention<B> {
    /// Moves to another window: V1's bias table is resized as timm's `set_window_size` does
    /// ([`resize_rel_pos_bias_table`]), V2's MLP gets the new window's offsets. The same window
    /// changes nothing.
    pub fn set_window(&mut self, window: [usize; 2]) {
        if window == self.window {
            return;
        }
        if let Some(mlp) = &mut self.cpb_mlp {
            mlp.set_window(window);
        }
        if let Some(param) = &self.relative_position_bias_table {
            let old = param.val();
            let device = old.device();
            let require_grad = old.is_require_grad();
            let values = old
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("a float table");
            let resized = resize_rel_pos_bias_table(&values, self.num_heads, self.window, window);
            let rows = resized.len() / self.num_heads;
            let table = Tensor::<B, 2>::from_data(
                TensorData::new(resized, [rows, self.num_heads]),
                &device,
            )
            .set_require_grad(require_grad);
            self.relative_position_bias_table = Some(Param::initialized(param.id, table));
            self.relative_position_index = Some(index_tensor(window, &device));
        }
        self.window = window;
    }

    /// The relative position bias `[heads, N, N]` of one window.
    pub fn relative_position_bias(&self) -> Tensor<B, 3> {
        if let Some(mlp) = &self.cpb_mlp {
            return mlp.window_bias(self.window);
        }
        let n = self.window[0] * self.window[1];
        let (Some(table), Some(index)) = (
            &self.relative_position_bias_table,
            &self.relative_position_index,
        ) else {
            unreachable!("a window attention has a bias table or a bias MLP")
        };
        table
            .val()
            .select(0, index.clone())
            .reshape([n, n, self.num_heads])
            .permute([2, 0, 1])
    }

    /// Attention within windows `x [batch·windows, N, dim]`; `mask [windows, N, N]` (0 or −100)
    /// keeps shifted windows from mixing regions that are not neighbours in the image.
    pub fn forward(&self, x: Tensor<B, 3>, mask: Option<&Tensor<B, 3>>) -> Tensor<B, 3> {
        let [bw, n, _] = x.dims();
        let bias = self.relative_position_bias().unsqueeze::<4>(); // [1, heads, N, N]
        let bias = match mask {
            None => bias,
            Some(mask) => {
                let windows = mask.dims()[0];
                let h = self.num_heads;
                // [1, 1, heads, N, N] + [1, windows, 1, N, N] -> one bias per (image, window).
                let both = bias.unsqueeze::<5>() + mask.clone().reshape([1, windows, 1, n, n]);
                both.expand([bw / windows, windows, h, n, n])
                    .reshape([bw, h, n, n])
            }
        };
        QkvAttention {
            qkv: &self.qkv,
            qv_bias: self
                .q_bias
                .as_ref()
                .zip(self.v_bias.as_ref())
                .map(|(q, v)| [q, v]),
            q_norm: None,
            k_norm: None,
            rope: None,
            norm: None,
            proj: &self.proj,
            attn_drop: &self.attn_drop,
            proj_drop: &self.proj_drop,
            num_heads: self.num_heads,
            num_kv_heads: self.num_heads,
            logit_scale: self.logit_scale.as_ref(),
            path: self.path,
        }
        .forward(x, Some(bias), false)
        .0
    }
}
