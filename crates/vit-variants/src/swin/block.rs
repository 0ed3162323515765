//! A Swin Transformer block: (shifted) window attention and an MLP, each with a residual — V1
//! pre-norm, V2 residual post-norm.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::layers::drop_path::DropPath;
use vit_core::layers::mlp::{Mlp, MlpConfig};
use vit_core::layers::{LayerNorm, LayerNormConfig};

use crate::swin::model::SwinVersion;
use crate::swin::window_attention::{WindowAttention, WindowAttentionConfig};
use crate::swin::windows::{shifted_window_mask, window_partition, window_reverse};

/// Configuration of a [`SwinBlock`].
#[derive(Config, Debug)]
pub struct SwinBlockConfig {
    /// Token dimension.
    pub dim: usize,
    /// Token map `[height, width]` the block runs at.
    pub resolution: [usize; 2],
    /// Attention heads.
    pub num_heads: usize,
    /// Window side.
    #[config(default = 7)]
    pub window_size: usize,
    /// Whether this block shifts its windows by half a window (every second block does).
    #[config(default = false)]
    pub shifted: bool,
    /// MLP hidden size as a multiple of `dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Bias on the qkv projection.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Dropout after projections.
    #[config(default = 0.0)]
    pub proj_drop: f64,
    /// Dropout on attention weights.
    #[config(default = 0.0)]
    pub attn_drop: f64,
    /// Stochastic depth of this block.
    #[config(default = 0.0)]
    pub drop_path: f64,
    /// LayerNorm epsilon (PyTorch's default, as Swin).
    #[config(default = 1e-5)]
    pub norm_eps: f64,
    /// V1 (pre-norm, bias table) or V2 (residual post-norm, bias MLP, cosine attention).
    #[config(default = "SwinVersion::V1")]
    pub version: SwinVersion,
    /// V2: the window its bias MLP was pre-trained with (0: its own).
    #[config(default = 0)]
    pub pretrained_window: usize,
}

/// One Swin block (timm's `SwinTransformerBlock`, same keys).
#[derive(Module, Debug)]
pub struct SwinBlock<B: VitBackend> {
    /// Norm before attention.
    pub norm1: LayerNorm<B>,
    /// Window attention.
    pub attn: WindowAttention<B>,
    /// Norm before the MLP.
    pub norm2: LayerNorm<B>,
    /// Feed-forward network.
    pub mlp: Mlp<B>,
    /// Stochastic depth on both branches.
    pub drop_path: DropPath,
    /// Window `[height, width]` after fitting it to the resolution.
    pub window: [usize; 2],
    /// Cyclic shift `[rows, cols]` (0 when the window covers the whole map).
    pub shift: [usize; 2],
    /// Shifted-window mask `[windows, N, N]` for the padded map (computed, not saved).
    pub attn_mask: Option<Tensor<B, 3>>,
    /// The padded map `[height, width]` [`Self::attn_mask`] was made for; another size gets
    /// its own mask at run time (timm's `dynamic_mask`).
    pub mask_size: [usize; 2],
    /// The window asked for before fitting (timm's `target_window_size`).
    pub target_window: [usize; 2],
    /// Whether this block shifts its windows (every second block).
    pub shifted: bool,
    /// V2's residual post-norm: the norms after attention and MLP, not before.
    pub post_norm: bool,
}

/// timm's `_calc_window_shift`: a window larger than the map shrinks to it, and then there is
/// nothing to shift; a shifted block moves by half the asked window.
pub fn fit_window(
    resolution: [usize; 2],
    target: [usize; 2],
    shifted: bool,
) -> ([usize; 2], [usize; 2]) {
    let mut window = [0; 2];
    let mut shift = [0; 2];
    for i in 0..2 {
        window[i] = resolution[i].min(target[i]);
        shift[i] = if resolution[i] <= window[i] || !shifted {
            0
        } else {
            target[i] / 2
        };
    }
    (window, shift)
}

impl SwinBlockConfig {
    /// Window and shift as timm fits them: a window larger than the map shrinks to it, and then
    /// there is nothing to shift.
    pub fn window_and_shift(&self) -> ([usize; 2], [usize; 2]) {
        fit_window(self.resolution, [self.window_size; 2], self.shifted)
    }

    /// Builds the block.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> SwinBlock<B> {
        let (window, shift) = self.window_and_shift();
        let norm = || {
            LayerNormConfig::new(self.dim)
                .with_epsilon(self.norm_eps)
                .init(device)
        };
        let padded = padded_size(self.resolution, window);
        SwinBlock {
            norm1: norm(),
            attn: WindowAttentionConfig::new(self.dim, self.num_heads, window)
                .with_qkv_bias(self.qkv_bias)
                .with_attn_drop(self.attn_drop)
                .with_proj_drop(self.proj_drop)
                .with_version(self.version)
                .with_pretrained_window(self.pretrained_window)
                .init(device),
            norm2: norm(),
            mlp: MlpConfig::new(self.dim, (self.dim as f64 * self.mlp_ratio) as usize)
                .with_drop(self.proj_drop)
                .init(device),
            drop_path: DropPath::new(self.drop_path),
            window,
            shift,
            attn_mask: (shift != [0, 0])
                .then(|| shifted_window_mask(padded, window, shift, device)),
            mask_size: padded,
            target_window: [self.window_size; 2],
            shifted: self.shifted,
            post_norm: self.version == SwinVersion::V2,
        }
    }
}

/// `size` rounded up to whole windows.
fn padded_size(size: [usize; 2], window: [usize; 2]) -> [usize; 2] {
    [0, 1].map(|i| size[i].div_ceil(window[i]) * window[i])
}

impl<B: VitBackend> SwinBlock<B> {
    /// Refits the block to a map of `resolution` with windows of `target_window` (timm's
    /// `SwinTransformerBlock.set_input_size`): window and shift recomputed, the bias table
    /// resized to the new window, the mask rebuilt.
    pub fn set_input_size(&mut self, resolution: [usize; 2], target_window: [usize; 2]) {
        let (window, shift) = fit_window(resolution, target_window, self.shifted);
        self.attn.set_window(window);
        self.window = window;
        self.shift = shift;
        self.target_window = target_window;
        let padded = padded_size(resolution, window);
        let device = self.norm1.gamma.lazy_device();
        self.attn_mask =
            (shift != [0, 0]).then(|| shifted_window_mask(padded, window, shift, &device));
        self.mask_size = padded;
    }

    /// `x [batch, height, width, dim]` → same shape.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if self.post_norm {
            let attended = self.norm1.forward(self.window_attention(x.clone()));
            let x = x + self.drop_path.forward(attended);
            let mlp = self.norm2.forward(self.mlp.forward(x.clone()));
            return x + self.drop_path.forward(mlp);
        }
        let attended = self.window_attention(self.norm1.forward(x.clone()));
        let x = x + self.drop_path.forward(attended);
        x.clone()
            + self
                .drop_path
                .forward(self.mlp.forward(self.norm2.forward(x)))
    }

    /// Cyclic shift, pad to whole windows, attend per window, and undo all three.
    fn window_attention(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, h, w, c] = x.dims();
        let [sh, sw] = self.shift.map(|s| s as i64);
        let shifted = self.shift != [0, 0];
        // Burn's `roll(s)` gives `out[i] = x[i + s]`: the opposite sign of `torch.roll`, so this
        // is timm's `torch.roll(x, -shift)` (and the inverse below is timm's `+shift`).
        let mut x = if shifted {
            x.roll(&[sh, sw], &[1, 2])
        } else {
            x
        };
        let [hp, wp] = [
            h.div_ceil(self.window[0]) * self.window[0],
            w.div_ceil(self.window[1]) * self.window[1],
        ];
        let device = x.device();
        if hp > h {
            x = Tensor::cat(vec![x, Tensor::zeros([b, hp - h, w, c], &device)], 1);
        }
        if wp > w {
            x = Tensor::cat(vec![x, Tensor::zeros([b, hp, wp - w, c], &device)], 2);
        }
        let windows = window_partition(x, self.window);
        // A map of another size than built for (timm's `dynamic_mask`) gets its own mask.
        let mask = match &self.attn_mask {
            Some(_) if [hp, wp] != self.mask_size => Some(shifted_window_mask(
                [hp, wp],
                self.window,
                self.shift,
                &device,
            )),
            mask => mask.clone(),
        };
        let attended = self.attn.forward(windows, mask.as_ref());
        let mut x = window_reverse(attended, self.window, [hp, wp]);
        if hp > h || wp > w {
            x = x.slice([0..b, 0..h, 0..w, 0..c]);
        }
        if shifted {
            x.roll(&[-sh, -sw], &[1, 2])
        } else {
            x
        }
    }
}
