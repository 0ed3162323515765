//! `vit models`: the table of presets.

use burn::tensor::backend::Backend;
use vit_core::param_count::count_params;
use vit_core::presets::{Preset, vit_presets};

use crate::backend::BackendJob;

/// One row of the table.
pub struct ModelRow {
    /// Preset name.
    pub name: &'static str,
    /// Parameter count of the built model.
    pub params: usize,
    /// Multiply-accumulates of one forward pass at the native size.
    pub macs: u64,
    /// Native input size.
    pub img_size: [usize; 2],
    /// Patch size.
    pub patch_size: usize,
    /// Token dimension, depth, heads.
    pub shape: [usize; 3],
    /// Classifier outputs.
    pub num_classes: usize,
}

/// Builds every preset (lazily: no weight is allocated) to count its parameters.
pub struct ListModels;

impl BackendJob for ListModels {
    type Output = Vec<ModelRow>;

    fn run<B: Backend>(self, device: B::Device) -> Vec<ModelRow> {
        vit_presets()
            .into_iter()
            .map(|Preset { name, config }| ModelRow {
                name,
                params: count_params(&config.init::<B>(&device)),
                macs: config.macs(),
                img_size: config.img_size,
                patch_size: config.patch_size,
                shape: [config.embed_dim, config.depth, config.num_heads],
                num_classes: config.num_classes,
            })
            .collect()
    }
}

/// Thousands separators: 5717416 → "5,717,416".
pub fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Renders the rows as an aligned text table.
pub fn render(rows: &[ModelRow]) -> String {
    let mut out = format!(
        "{:<26} {:>13} {:>7} {:>7} {:>9} {:>5} {:>5} {:>5} {:>5} {:>7}\n",
        "model", "params", "GMACs", "GFLOPs", "input", "patch", "dim", "depth", "heads", "classes"
    );
    for row in rows {
        out += &format!(
            "{:<26} {:>13} {:>7.2} {:>7.2} {:>9} {:>5} {:>5} {:>5} {:>5} {:>7}\n",
            row.name,
            with_commas(row.params),
            row.macs as f64 / 1e9,
            2.0 * row.macs as f64 / 1e9,
            format!("{}x{}", row.img_size[0], row.img_size[1]),
            row.patch_size,
            row.shape[0],
            row.shape[1],
            row.shape[2],
            row.num_classes,
        );
    }
    out += "GMACs: multiply-accumulates per image (timm/fvcore \"GFLOPs\"); GFLOPs = 2 x GMACs.\n";
    out
}
