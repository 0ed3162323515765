//! Relative position biases on the attention scores over a ViT's patch grid, in the two forms
//! timm's ViT-family models use:
//!
//! - [`RelPosKind::Table`] (BEiT's `relative_position_bias_table`): one learned value per head and
//!   relative offset of two patches, plus three entries for the class token (class → patch,
//!   patch → class, class → class), looked up by [`relative_position_index`];
//! - [`RelPosKind::Mlp`] (timm's `RelPosMlp`, ViT-relpos; Swin V2's continuous position bias): a
//!   two-layer MLP from the log-spaced offset `(Δy, Δx)` to one value per head; prefix tokens
//!   get no bias.
//!
//! Either sits in every block's attention (`attn.rel_pos`) or once for all blocks
//! (`shared_rel_pos`). The bias of a whole grid is `[heads, tokens, tokens]`, added to the
//! scores before the softmax.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

use crate::layers::init::{lazy_param, timm_linear};
use crate::layers::linear::linear;
use crate::layers::rel_pos_bias::relative_position_index;

/// Which relative position bias.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RelPosKind {
    /// A learned table per relative offset with BEiT's three class-token entries.
    #[default]
    Table,
    /// An MLP of log-spaced offsets (timm's `RelPosMlp`).
    Mlp,
}

/// How [`RelPosKind::Mlp`] spaces its offsets and scales its output (timm's `RelPosMlp.mode`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RelPosMlpMode {
    /// timm's `cr`: `sign(d)·ln(1 + |d|)` offsets, the output as is.
    #[default]
    Cr,
    /// Swin V2's: offsets normalised by the (pretrained) window to ±8, then
    /// `sign·log2(1 + |d|)/3`; the output through `16·sigmoid`; no bias on the second layer.
    Swin,
}

/// Configuration of a relative position bias ([`RelPos`]).
#[derive(Config, Debug, PartialEq)]
pub struct RelPosConfig {
    /// The form of the bias.
    #[config(default = "RelPosKind::Table")]
    pub kind: RelPosKind,
    /// One bias for all blocks (timm's `shared_rel_pos` / BEiT's `use_shared_rel_pos_bias`)
    /// instead of one per block.
    #[config(default = false)]
    pub shared: bool,
    /// Hidden width of the MLP (timm's `rel_pos_dim`, default 128).
    #[config(default = 128)]
    pub hidden_dim: usize,
    /// Offset spacing and output scaling of the MLP.
    #[config(default = "RelPosMlpMode::Cr")]
    pub mode: RelPosMlpMode,
    /// Dropout after the MLP's activation while training (timm's `RelPosMlp`: 0.125; Swin V2's
    /// `cpb_mlp`: none).
    #[config(default = 0.125)]
    pub mlp_drop: f64,
    /// The window the MLP's offsets are normalised to in Swin's mode (Swin V2's
    /// `pretrained_window_size`); `None`: the window itself.
    #[config(default = "None")]
    pub pretrained_window: Option<[usize; 2]>,
}

/// A relative position bias module (same keys as timm's: `relative_position_bias_table`, or
/// `mlp.fc1` / `mlp.fc2`).
// Built once per block, moved rarely; boxing would need `Module` for `Box`, which Burn lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum RelPos<B: VitBackend> {
    /// BEiT's learned table.
    Table(RelPosTable<B>),
    /// timm's `RelPosMlp`.
    Mlp(RelPosMlp<B>),
}

/// BEiT's table: `[(2h−1)·(2w−1) + 3, heads]` for an `h × w` grid and the class token.
#[derive(Module, Debug)]
pub struct RelPosTable<B: VitBackend> {
    /// One learned value per relative offset (and class-token relation) and head.
    pub relative_position_bias_table: Param<Tensor<B, 2>>,
    /// Which table row each (query, key) pair reads, `[(N+1)²]` (computed, not saved).
    pub relative_position_index: Tensor<B, 1, Int>,
    /// The patch grid `[rows, cols]` the table is for.
    pub grid: [usize; 2],
}

/// The two layers of [`RelPosMlp`] (timm's `Mlp` with `in = 2`, `out = heads`, ReLU).
#[derive(Module, Debug)]
pub struct RelPosMlpLayers<B: VitBackend> {
    /// `2 → hidden`.
    pub fc1: Linear<B>,
    /// `hidden → heads` (no bias in Swin V2's mode).
    pub fc2: Linear<B>,
    /// Dropout after the activation (timm: 0.125 while training).
    pub drop: Dropout,
}

/// timm's `RelPosMlp`: the bias of every relative offset from an MLP of its log-spaced
/// coordinates.
#[derive(Module, Debug)]
pub struct RelPosMlp<B: VitBackend> {
    /// The MLP.
    pub mlp: RelPosMlpLayers<B>,
    /// The window the offsets below are for.
    pub window: [usize; 2],
    /// The log-spaced offsets of [`Self::window`], `[(2h−1)·(2w−1), 2]` (computed, not saved).
    pub coords: Tensor<B, 2>,
    /// Which offset each (query, key) pair of the window reads, `[N²]` (computed, not saved).
    pub relative_position_index: Tensor<B, 1, Int>,
    /// Offset spacing and output scaling.
    pub mode: RelPosMlpMode,
    /// Prefix tokens before the patches: their rows and columns get no bias.
    pub prefix_tokens: usize,
    /// The window the offsets are normalised to in Swin's mode (Swin V2's
    /// `pretrained_window_size`); `[0, 0]`: the window itself.
    pub pretrained_window: [usize; 2],
}

impl RelPosConfig {
    /// The module for a `grid` of patches after `prefix_tokens` prefix tokens, with `heads`
    /// heads. A table needs exactly one prefix token (the class token), as BEiT.
    pub fn init<B: VitBackend>(
        &self,
        heads: usize,
        grid: [usize; 2],
        prefix_tokens: usize,
        device: &B::Device,
    ) -> RelPos<B> {
        match self.kind {
            RelPosKind::Table => {
                let rows = table_rows(grid) + 3;
                let index = relative_position_index(grid, true);
                let n = index.len();
                RelPos::Table(RelPosTable {
                    // BEiT starts its tables at zero.
                    relative_position_bias_table: lazy_param([rows, heads], device, move |d| {
                        Tensor::zeros([rows, heads], d)
                    }),
                    relative_position_index: Tensor::from_data(TensorData::new(index, [n]), device),
                    grid,
                })
            }
            RelPosKind::Mlp => {
                let pretrained_window = self.pretrained_window.unwrap_or([0, 0]);
                let (coords, index) =
                    window_positions::<B>(grid, pretrained_window, self.mode, device);
                RelPos::Mlp(RelPosMlp {
                    mlp: RelPosMlpLayers {
                        fc1: timm_linear(2, self.hidden_dim, true, device),
                        fc2: timm_linear(
                            self.hidden_dim,
                            heads,
                            self.mode == RelPosMlpMode::Cr,
                            device,
                        ),
                        drop: DropoutConfig::new(self.mlp_drop).init(),
                    },
                    window: grid,
                    coords,
                    relative_position_index: index,
                    mode: self.mode,
                    prefix_tokens,
                    pretrained_window,
                })
            }
        }
    }
}

/// The log-spaced offsets `[(2h−1)·(2w−1), 2]` and the pair index `[N²]` of a window, as tensors.
fn window_positions<B: VitBackend>(
    window: [usize; 2],
    pretrained_window: [usize; 2],
    mode: RelPosMlpMode,
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let coords = relative_log_coords(window, pretrained_window, mode);
    let coords = Tensor::from_data(TensorData::new(coords, [table_rows(window), 2]), device);
    let index = relative_position_index(window, false);
    let n = index.len();
    (
        coords,
        Tensor::from_data(TensorData::new(index, [n]), device),
    )
}

/// Rows of a plain relative-offset table for a `[h, w]` window: `(2h−1)·(2w−1)`.
pub fn table_rows(window: [usize; 2]) -> usize {
    (2 * window[0] - 1) * (2 * window[1] - 1)
}

/// Every relative offset `(Δy, Δx)` of a `[h, w]` window, row-major over
/// `Δy ∈ [−(h−1), h−1]`, `Δx ∈ [−(w−1), w−1]`, log-spaced as timm's `gen_relative_log_coords`:
/// `[(2h−1)·(2w−1)·2]` values.
pub fn relative_log_coords(
    window: [usize; 2],
    pretrained_window: [usize; 2],
    mode: RelPosMlpMode,
) -> Vec<f32> {
    let [h, w] = window.map(|s| s as i64);
    let mut coords = Vec::with_capacity(table_rows(window) * 2);
    for dy in -(h - 1)..h {
        for dx in -(w - 1)..w {
            for (d, axis) in [(dy, 0), (dx, 1)] {
                let d = d as f32;
                coords.push(match mode {
                    RelPosMlpMode::Cr => d.signum() * (1.0 + d.abs()).ln(),
                    RelPosMlpMode::Swin => {
                        // timm divides by (pretrained − 1), or (window − 1) without one, at
                        // least 1 (a side of 1 has only offset 0).
                        let base = if pretrained_window[axis] > 0 {
                            pretrained_window[axis]
                        } else {
                            window[axis]
                        };
                        let scaled = d / base.saturating_sub(1).max(1) as f32 * 8.0;
                        scaled.signum() * (1.0 + scaled.abs()).log2() / 3.0
                    }
                });
            }
        }
    }
    coords
}

impl<B: VitBackend> RelPos<B> {
    /// The bias `[heads, tokens, tokens]` for a patch `grid` (prefix tokens first). A table
    /// holds one grid only: another is refused by the configs (it would be resized while
    /// loading, as timm does).
    pub fn bias(&self, grid: [usize; 2]) -> Tensor<B, 3> {
        match self {
            Self::Table(table) => table.bias(),
            Self::Mlp(mlp) => mlp.bias(grid),
        }
    }

    /// The grid a table was built for (`None` for the MLP, which takes any).
    pub fn fixed_grid(&self) -> Option<[usize; 2]> {
        match self {
            Self::Table(table) => Some(table.grid),
            Self::Mlp(_) => None,
        }
    }

    /// The patch grid of `tokens` tokens: a table's own, or the square grid of the patches
    /// after the MLP's prefix tokens.
    pub fn grid_of(&self, tokens: usize) -> [usize; 2] {
        match self {
            Self::Table(table) => table.grid,
            Self::Mlp(mlp) => {
                let patches = tokens.saturating_sub(mlp.prefix_tokens);
                let side = (patches as f64).sqrt().round() as usize;
                [side, side]
            }
        }
    }
}

impl<B: VitBackend> RelPosTable<B> {
    /// `[heads, N+1, N+1]` (the class token first).
    pub fn bias(&self) -> Tensor<B, 3> {
        let n = self.grid[0] * self.grid[1] + 1;
        let table = self.relative_position_bias_table.val();
        let heads = table.dims()[1];
        table
            .select(0, self.relative_position_index.clone())
            .reshape([n, n, heads])
            .permute([2, 0, 1])
    }
}

impl<B: VitBackend> RelPosMlp<B> {
    /// The bias `[heads, P+N, P+N]` of a `grid` of `N` patches after `P` prefix tokens (zero
    /// wherever a prefix token is involved).
    pub fn bias(&self, grid: [usize; 2]) -> Tensor<B, 3> {
        pad_prefix(self.window_bias(grid), self.prefix_tokens)
    }

    /// `[heads, N, N]` for a window of `N` positions (no prefix tokens): Swin V2's windows. The
    /// window built for reads its stored offsets; another computes them.
    pub fn window_bias(&self, window: [usize; 2]) -> Tensor<B, 3> {
        let (coords, index) = if window == self.window {
            (self.coords.clone(), self.relative_position_index.clone())
        } else {
            let device = self.coords.device();
            window_positions::<B>(window, self.pretrained_window, self.mode, &device)
        };
        let hidden = self.mlp.drop.forward(relu(linear(&self.mlp.fc1, coords)));
        let table = linear(&self.mlp.fc2, hidden);
        let heads = table.dims()[1];
        let n = window[0] * window[1];
        let bias = table
            .select(0, index)
            .reshape([n, n, heads])
            .permute([2, 0, 1]);
        match self.mode {
            RelPosMlpMode::Cr => bias,
            RelPosMlpMode::Swin => sigmoid(bias).mul_scalar(16.0),
        }
    }

    /// Moves to another window (Swin V2's `set_window_size`): the MLP is unchanged, the offsets
    /// and index are recomputed.
    pub fn set_window(&mut self, window: [usize; 2]) {
        let device = self.coords.device();
        let (coords, index) =
            window_positions::<B>(window, self.pretrained_window, self.mode, &device);
        self.window = window;
        self.coords = coords;
        self.relative_position_index = index;
    }
}

/// A bias `[heads, N, N]` over patches with zero rows and columns for `prefix` tokens in front
/// (timm pads the MLP's bias so).
fn pad_prefix<B: VitBackend>(bias: Tensor<B, 3>, prefix: usize) -> Tensor<B, 3> {
    if prefix == 0 {
        return bias;
    }
    let [h, n, _] = bias.dims();
    let device = bias.device();
    let rows = Tensor::cat(vec![Tensor::zeros([h, prefix, n], &device), bias], 1);
    Tensor::cat(
        vec![Tensor::zeros([h, n + prefix, prefix], &device), rows],
        2,
    )
}
