//! Rotary position embeddings over the patch grid (timm's `layers/pos_embed_sincos.py`), in the
//! three layouts timm's `eva.py` models use:
//!
//! - [`RopeKind::Cat`] (`RotaryEmbeddingCat`: EVA-02, PE, Naver's RoPE-ViT `_rope_` models):
//!   integer grid positions (plus `grid_offset`, optionally rescaled to `ref_feat_shape`), inverse
//!   frequencies `temperature^(-j/(d/4))`.
//! - [`RopeKind::Dinov3`] (`RotaryEmbeddingDinoV3`): 0.5-centred positions normalised to
//!   `[-1, 1]` per axis, periods `temperature^(2j/(d/2))`.
//! - [`RopeKind::Mixed`] (`RotaryEmbeddingMixed`): learned frequencies per block and head
//!   (`rope.freqs`, `[2, depth, heads, d/2]`), always interleaved.
//!
//! Each gives, for a head dimension `d`, one angle per (position, frequency): `d/2` angles, `d/4`
//! per axis. They are laid out over the `d` channels either interleaved (`[a0, a0, a1, a1, …]`,
//! rotating channel pairs `(2i, 2i+1)`) or as halves (`[a0, a1, …, a0, a1, …]`, rotating
//! `(i, i + d/2)`: `rotate_half`). Mixing the two layouts is the classic silent bug, so the layout
//! travels with the table ([`RopeTable`]) and is applied by the same table that built it.
//!
//! Fixed tables are computed in f32 on the host in timm's order of operations (so that they
//! equal timm's bit for bit where the platform's `sin`/`cos` agree), learned ones with tensor ops
//! (they are trained).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

/// Which rotary embedding (timm's `rope_type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RopeKind {
    /// Axial RoPE on integer grid positions (timm `RotaryEmbeddingCat`, `'cat'`).
    #[default]
    Cat,
    /// Axial RoPE on centred, normalised positions (timm `RotaryEmbeddingDinoV3`, `'dinov3'`).
    Dinov3,
    /// Learned per-block, per-head 2-D frequencies (timm `RotaryEmbeddingMixed`, `'mixed'`).
    Mixed,
}

/// How the grid's two coordinates are ordered over the frequency bands (timm's
/// `rope_grid_indexing`): `ij` puts the row coordinate first, `xy` the column coordinate.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum GridIndexing {
    /// Row coordinate first (PyTorch's `meshgrid(indexing='ij')`).
    #[default]
    Ij,
    /// Column coordinate first (`indexing='xy'`).
    Xy,
}

/// Configuration of a [`Rope`]; names and defaults follow timm's `Eva` arguments (`rope_*`).
#[derive(Config, Debug, PartialEq)]
pub struct RopeConfig {
    /// The embedding (`rope_type`).
    #[config(default = "RopeKind::Cat")]
    pub kind: RopeKind,
    /// Frequency base (`rope_temperature`).
    #[config(default = 10000.0)]
    pub temperature: f64,
    /// Added to every grid position (`rope_grid_offset`; not used by `mixed`).
    #[config(default = 0.0)]
    pub grid_offset: f64,
    /// Coordinate order (`rope_grid_indexing`).
    #[config(default = "GridIndexing::Ij")]
    pub grid_indexing: GridIndexing,
    /// Half layout instead of interleaved pairs (`rope_rotate_half`; `mixed` is always
    /// interleaved).
    #[config(default = false)]
    pub rotate_half: bool,
    /// The grid positions are rescaled so that any grid spans this one (`ref_feat_shape`, EVA-02's
    /// fine-tuning at other sizes; `cat` only).
    #[config(default = "None")]
    pub ref_feat_shape: Option<[usize; 2]>,
    /// While training: every coordinate axis shifted by one draw from `U(−s, s)`, in the grid's
    /// units (`rope_shift_coords`).
    #[config(default = "None")]
    pub shift_coords: Option<f64>,
    /// While training: every axis scaled by its own draw, log-uniform in `[1/J, J]`
    /// (`rope_jitter_coords`).
    #[config(default = "None")]
    pub jitter_coords: Option<f64>,
    /// While training: all axes scaled by one draw, log-uniform in `[1/R, R]`
    /// (`rope_rescale_coords`: DINOv3's 2).
    #[config(default = "None")]
    pub rescale_coords: Option<f64>,
}

/// The coordinate augmentation of one training step (timm's `_apply_coord_augs`): shift, then
/// per-axis jitter, then a shared rescale, the same for every position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoordAugment {
    /// Added to each axis.
    pub shift: [f32; 2],
    /// Then each axis multiplied by this.
    pub scale: [f32; 2],
}

impl CoordAugment {
    /// No change.
    pub const NONE: Self = Self {
        shift: [0.0; 2],
        scale: [1.0; 2],
    };

    /// `value` of `axis` after the augmentation.
    pub fn apply(&self, axis: usize, value: f32) -> f32 {
        (value + self.shift[axis]) * self.scale[axis]
    }
}

/// Rotary position embeddings of a ViT: the settings, and the learned frequencies of the
/// `mixed` kind (timm key `rope.freqs`).
#[derive(Module, Debug)]
pub struct Rope<B: VitBackend> {
    /// Learned frequencies `[2 (x, y), depth, heads, head_dim / 2]` (`mixed` only).
    pub freqs: Option<Param<Tensor<B, 4>>>,
    /// Which embedding.
    pub kind: RopeKind,
    /// Frequency base.
    pub temperature: f64,
    /// Grid position offset.
    pub grid_offset: f64,
    /// Coordinate order.
    pub grid_indexing: GridIndexing,
    /// Half layout.
    pub rotate_half: bool,
    /// Reference grid `[rows, cols]` the positions are rescaled to.
    pub ref_feat_shape: Option<[usize; 2]>,
    /// Training-time coordinate augmentation: shift, jitter and rescale bounds.
    pub augment: [Option<f64>; 3],
    /// Channels per head the rotation covers.
    pub head_dim: usize,
}

impl RopeConfig {
    /// Builds the embedding for heads of `head_dim` channels (`num_heads` heads, `depth` blocks:
    /// the shape of `mixed`'s learned frequencies, drawn as timm does: magnitudes
    /// `temperature^(-4j/d)` rotated by a random angle per block and head).
    pub fn init<B: VitBackend>(
        &self,
        head_dim: usize,
        num_heads: usize,
        depth: usize,
        device: &B::Device,
    ) -> Rope<B> {
        let freqs = (self.kind == RopeKind::Mixed).then(|| {
            let quarter = head_dim / 4;
            let angles = Tensor::<B, 3>::random(
                [depth, num_heads, 1],
                Distribution::Uniform(0.0, 2.0 * std::f64::consts::PI),
                device,
            );
            let mags: Vec<f32> = (0..quarter)
                .map(|j| (1.0 / self.temperature.powf((4 * j) as f64 / head_dim as f64)) as f32)
                .collect();
            let mag = Tensor::<B, 1>::from_data(TensorData::new(mags, [quarter]), device)
                .reshape([1, 1, quarter]);
            let half_pi = std::f64::consts::FRAC_PI_2;
            let fx = Tensor::cat(
                vec![
                    mag.clone() * angles.clone().cos(),
                    mag.clone() * angles.clone().add_scalar(half_pi).cos(),
                ],
                2,
            );
            let fy = Tensor::cat(
                vec![
                    mag.clone() * angles.clone().sin(),
                    mag * angles.add_scalar(half_pi).sin(),
                ],
                2,
            );
            Param::from_tensor(Tensor::stack::<4>(vec![fx, fy], 0))
        });
        Rope {
            freqs,
            kind: self.kind,
            temperature: self.temperature,
            grid_offset: self.grid_offset,
            grid_indexing: self.grid_indexing,
            rotate_half: self.rotate_half && self.kind != RopeKind::Mixed,
            ref_feat_shape: self.ref_feat_shape,
            augment: [self.shift_coords, self.jitter_coords, self.rescale_coords],
            head_dim,
        }
    }
}

/// The sin and cos of every (patch, channel) angle for one block, `[1, heads | 1, patches,
/// head_dim]` each, in the layout of the embedding that built them; applied to the patch tokens
/// of `q` and `k` (the first `prefix` tokens are left as they are, as timm does).
#[derive(Debug, Clone)]
pub struct RopeTable<B: VitBackend> {
    /// Sines `[1, heads | 1, patches, head_dim]`.
    pub sin: Tensor<B, 4>,
    /// Cosines, same shape.
    pub cos: Tensor<B, 4>,
    /// Half layout (rotate `(i, i + d/2)`) instead of interleaved pairs.
    pub rotate_half: bool,
    /// Tokens before the patches, not rotated.
    pub prefix: usize,
}

impl<B: VitBackend> RopeTable<B> {
    /// timm's fused `qkv [batch, tokens, 3·heads·head_dim]` with its patch tokens' queries and
    /// keys rotated, in one pass over the buffer ([`vit_ops::rope_qkv`]: vit-ops' kernel on the
    /// CPU backends, Burn ops elsewhere).
    pub fn apply_to_qkv(&self, qkv: Tensor<B, 3>, heads: usize) -> Tensor<B, 3> {
        let [_, th, p, d] = self.sin.dims();
        let table = |t: &Tensor<B, 4>| t.clone().reshape([th, p, d]);
        vit_ops::rope_qkv(
            qkv,
            table(&self.sin),
            table(&self.cos),
            heads,
            self.prefix,
            self.rotate_half,
        )
    }
}

/// The tables of every block for one input grid: one shared table, or one per block (`mixed`).
#[derive(Debug, Clone)]
pub enum RopeTables<B: VitBackend> {
    /// The same table for every block.
    Shared(RopeTable<B>),
    /// A table per block.
    PerBlock(Vec<RopeTable<B>>),
}

impl<B: VitBackend> RopeTables<B> {
    /// Block `index`'s table.
    pub fn block(&self, index: usize) -> &RopeTable<B> {
        match self {
            Self::Shared(table) => table,
            Self::PerBlock(tables) => &tables[index],
        }
    }
}

impl<B: VitBackend> Rope<B> {
    /// The tables for a patch grid `[rows, cols]` with `prefix` tokens before the patches; while
    /// training (autodiff on the device) with a fresh coordinate augmentation when the model has
    /// one, as timm does in training mode.
    pub fn tables(&self, grid: [usize; 2], prefix: usize, device: &B::Device) -> RopeTables<B> {
        let augment = if B::ad_enabled(device) {
            self.draw_augment(device)
        } else {
            CoordAugment::NONE
        };
        self.tables_with(grid, prefix, augment, device)
    }

    /// One draw of the training-time coordinate augmentation (Burn's random generator, so seeded
    /// runs repeat): `CoordAugment::NONE` without bounds.
    pub fn draw_augment(&self, device: &B::Device) -> CoordAugment {
        let [shift, jitter, rescale] = self.augment;
        if shift.is_none() && jitter.is_none() && rescale.is_none() {
            return CoordAugment::NONE;
        }
        let u = Tensor::<B, 1>::random([5], Distribution::Uniform(0.0, 1.0), device)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap_or_else(|_| vec![0.5; 5]);
        // U(-a, a) from U(0, 1).
        let sym = |a: f64, u: f32| ((2.0 * u as f64 - 1.0) * a) as f32;
        let mut out = CoordAugment::NONE;
        if let Some(s) = shift {
            out.shift = [sym(s, u[0]), sym(s, u[1])];
        }
        if let Some(j) = jitter {
            let l = j.ln();
            out.scale = [sym(l, u[2]).exp(), sym(l, u[3]).exp()];
        }
        if let Some(r) = rescale {
            let f = sym(r.ln(), u[4]).exp();
            out.scale = out.scale.map(|s| s * f);
        }
        out
    }

    /// [`Self::tables`] with the coordinate augmentation `augment` (`CoordAugment::NONE` for
    /// inference).
    pub fn tables_with(
        &self,
        grid: [usize; 2],
        prefix: usize,
        augment: CoordAugment,
        device: &B::Device,
    ) -> RopeTables<B> {
        let table = |sin: Tensor<B, 4>, cos: Tensor<B, 4>| RopeTable {
            sin,
            cos,
            rotate_half: self.rotate_half,
            prefix,
        };
        if let Some(freqs) = &self.freqs {
            let [sin, cos] = self
                .mixed_angles(freqs.val(), grid, augment)
                .map(interleave);
            let depth = sin.dims()[0];
            return RopeTables::PerBlock(
                (0..depth)
                    .map(|i| table(sin.clone().narrow(0, i, 1), cos.clone().narrow(0, i, 1)))
                    .collect(),
            );
        }
        let angles = match self.kind {
            RopeKind::Dinov3 => self.dinov3_angles(grid, augment),
            _ => self.cat_angles(grid, augment),
        };
        let patches = grid[0] * grid[1];
        let d = self.head_dim;
        let mut sin = vec![0f32; patches * d];
        let mut cos = vec![0f32; patches * d];
        let half = d / 2;
        for (p, row) in angles.chunks(half).enumerate() {
            for (k, &a) in row.iter().enumerate() {
                let (s, c) = (a.sin(), a.cos());
                let slots = if self.rotate_half {
                    [k, k + half]
                } else {
                    [2 * k, 2 * k + 1]
                };
                for slot in slots {
                    sin[p * d + slot] = s;
                    cos[p * d + slot] = c;
                }
            }
        }
        let to_tensor =
            |v: Vec<f32>| Tensor::<B, 4>::from_data(TensorData::new(v, [1, 1, patches, d]), device);
        RopeTables::Shared(table(to_tensor(sin), to_tensor(cos)))
    }

    /// The grid's coordinate values per axis in coordinate order (timm's `_build_grid`): the
    /// (rows, cols) sizes and reference sizes swapped for `xy`.
    fn axes(&self, grid: [usize; 2]) -> ([usize; 2], Option<[usize; 2]>) {
        match self.grid_indexing {
            GridIndexing::Ij => (grid, self.ref_feat_shape),
            GridIndexing::Xy => ([grid[1], grid[0]], self.ref_feat_shape.map(|[a, b]| [b, a])),
        }
    }

    /// Both coordinates of patch `p` (row-major over `grid`) in coordinate order.
    fn coords_of(&self, grid: [usize; 2], p: usize) -> [usize; 2] {
        let (row, col) = (p / grid[1], p % grid[1]);
        match self.grid_indexing {
            GridIndexing::Ij => [row, col],
            GridIndexing::Xy => [col, row],
        }
    }

    /// `RotaryEmbeddingCat`'s angles `[patches, d/2]`: per axis, position × band.
    fn cat_angles(&self, grid: [usize; 2], augment: CoordAugment) -> Vec<f32> {
        let bands_n = self.head_dim / 4;
        let temperature = self.temperature as f32;
        // timm: exp = arange(0, n) / n in f32, bands = 1 / temperature ** exp.
        let bands: Vec<f32> = (0..bands_n)
            .map(|j| 1.0 / temperature.powf(j as f32 / bands_n as f32))
            .collect();
        let (sizes, reference) = self.axes(grid);
        let position = |axis: usize, i: usize| {
            let t = i as f32 + self.grid_offset as f32;
            let t = match reference {
                Some(r) => t / sizes[axis] as f32 * r[axis] as f32,
                None => t,
            };
            augment.apply(axis, t)
        };
        self.axial_angles(grid, bands_n, |axis, i, j| position(axis, i) * bands[j])
    }

    /// `RotaryEmbeddingDinoV3`'s angles `[patches, d/2]`: `2π · coord / period`, coordinates
    /// `2·(i + 0.5 + offset)/size − 1`.
    fn dinov3_angles(&self, grid: [usize; 2], augment: CoordAugment) -> Vec<f32> {
        let quarter = self.head_dim / 4;
        let temperature = self.temperature as f32;
        let periods: Vec<f32> = (0..quarter)
            .map(|j| temperature.powf(2.0 * j as f32 / (self.head_dim / 2) as f32))
            .collect();
        let (sizes, _) = self.axes(grid);
        let two_pi = 2.0 * std::f64::consts::PI;
        let coord = |axis: usize, i: usize| {
            let centred = (i as f32 + 0.5 + self.grid_offset as f32) / sizes[axis] as f32;
            augment.apply(axis, 2.0 * centred - 1.0)
        };
        self.axial_angles(grid, quarter, |axis, i, j| {
            (two_pi as f32 * coord(axis, i)) / periods[j]
        })
    }

    /// Angles `[patches, 2 · per_axis]`: for each patch, axis 0's `per_axis` angles then axis 1's.
    fn axial_angles(
        &self,
        grid: [usize; 2],
        per_axis: usize,
        angle: impl Fn(usize, usize, usize) -> f32,
    ) -> Vec<f32> {
        let patches = grid[0] * grid[1];
        let mut out = Vec::with_capacity(patches * 2 * per_axis);
        for p in 0..patches {
            let coords = self.coords_of(grid, p);
            for (axis, &i) in coords.iter().enumerate() {
                out.extend((0..per_axis).map(|j| angle(axis, i, j)));
            }
        }
        out
    }

    /// `RotaryEmbeddingMixed`'s angles `[depth, heads, patches, d/2]` as `[sin, cos]`:
    /// `t_x · freqs[0] + t_y · freqs[1]`, `t` the integer grid coordinates in coordinate order.
    fn mixed_angles(
        &self,
        freqs: Tensor<B, 4>,
        grid: [usize; 2],
        augment: CoordAugment,
    ) -> [Tensor<B, 4>; 2] {
        let device = freqs.device();
        let patches = grid[0] * grid[1];
        let [_, depth, heads, half] = freqs.dims();
        let coords: [Vec<f32>; 2] = std::array::from_fn(|axis| {
            (0..patches)
                .map(|p| augment.apply(axis, self.coords_of(grid, p)[axis] as f32))
                .collect()
        });
        let [t0, t1] = coords.map(|c| {
            Tensor::<B, 1>::from_data(TensorData::new(c, [patches]), &device)
                .reshape([1, 1, patches, 1])
        });
        let f0 = freqs
            .clone()
            .narrow(0, 0, 1)
            .reshape([depth, heads, 1, half]);
        let f1 = freqs.narrow(0, 1, 1).reshape([depth, heads, 1, half]);
        let angles = t0 * f0 + t1 * f1;
        [angles.clone().sin(), angles.cos()]
    }
}

/// `[.., k]` → `[.., 2k]` with every value twice in a row (timm's interleaved layout).
fn interleave<B: VitBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [a, b, c, k] = x.dims();
    x.reshape([a, b, c, k, 1])
        .expand([a, b, c, k, 2])
        .reshape([a, b, c, 2 * k])
}
