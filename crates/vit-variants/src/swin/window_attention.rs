//! Swin's window attention: multi-head self-attention inside each window, plus a learned bias
//! per relative position (and, for shifted windows, a mask). The attention itself is vit-core's
//! [`QkvAttention`].

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Int, Tensor, TensorData};
use vit_core::VitBackend;
use vit_core::layers::attention::{AttentionPath, QkvAttention};
use vit_core::layers::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use vit_core::layers::rel_pos_bias::{relative_position_index, resize_rel_pos_bias_table};

/// Configuration of a [`WindowAttention`].
#[derive(Config, Debug)]
pub struct WindowAttentionConfig {
    /// Token dimension.
    pub dim: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Window `[height, width]` in tokens.
    pub window: [usize; 2],
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

/// Window attention with a relative position bias (timm's `WindowAttention`, same keys).
#[derive(Module, Debug)]
pub struct WindowAttention<B: VitBackend> {
    /// Fused query/key/value projection.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// One learned bias per relative offset and head: `[(2·Wh−1)·(2·Ww−1), heads]`.
    pub relative_position_bias_table: Param<Tensor<B, 2>>,
    /// Which table row each (query, key) pair of a window reads, `[N·N]` (computed, not saved).
    pub relative_position_index: Tensor<B, 1, Int>,
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

impl WindowAttentionConfig {
    /// Builds the module (bias table trunc-normal(0.02) as timm).
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> WindowAttention<B> {
        let [wh, ww] = self.window;
        let table = [(2 * wh - 1) * (2 * ww - 1), self.num_heads];
        let index = relative_position_index(self.window, false);
        let n = index.len();
        WindowAttention {
            qkv: timm_linear(self.dim, 3 * self.dim, self.qkv_bias, device),
            proj: timm_linear(self.dim, self.dim, true, device),
            relative_position_bias_table: lazy_param(table, device, move |device| {
                trunc_normal_timm(table, TIMM_INIT_STD, device)
            }),
            relative_position_index: Tensor::from_data(TensorData::new(index, [n]), device),
            attn_drop: DropoutConfig::new(self.attn_drop).init(),
            proj_drop: DropoutConfig::new(self.proj_drop).init(),
            num_heads: self.num_heads,
            window: self.window,
            path: AttentionPath::preferred::<B>(device),
        }
    }
}

impl<B: VitBackend> WindowAttention<B> {
    /// Moves to another window: the bias table is resized as timm's `set_window_size` does
    /// ([`resize_rel_pos_bias_table`]) and the index recomputed. The same window changes nothing.
    pub fn set_window(&mut self, window: [usize; 2]) {
        if window == self.window {
            return;
        }
        let old = self.relative_position_bias_table.val();
        let device = old.device();
        let require_grad = old.is_require_grad();
        let values = old
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("a float table");
        let resized = resize_rel_pos_bias_table(&values, self.num_heads, self.window, window);
        let rows = resized.len() / self.num_heads;
        let table =
            Tensor::<B, 2>::from_data(TensorData::new(resized, [rows, self.num_heads]), &device)
                .set_require_grad(require_grad);
        self.relative_position_bias_table =
            Param::initialized(self.relative_position_bias_table.id, table);
        let index = relative_position_index(window, false);
        let n = index.len();
        self.relative_position_index = Tensor::from_data(TensorData::new(index, [n]), &device);
        self.window = window;
    }

    /// The relative position bias `[heads, N, N]` of one window.
    pub fn relative_position_bias(&self) -> Tensor<B, 3> {
        let n = self.window[0] * self.window[1];
        self.relative_position_bias_table
            .val()
            .select(0, self.relative_position_index.clone())
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
            qv_bias: None,
            q_norm: None,
            k_norm: None,
            rope: None,
            norm: None,
            proj: &self.proj,
            attn_drop: &self.attn_drop,
            proj_drop: &self.proj_drop,
            num_heads: self.num_heads,
            num_kv_heads: self.num_heads,
            path: self.path,
        }
        .forward(x, Some(bias), false)
        .0
    }
}
