//! `vit models`: the table of presets.

use vit_core::VitBackend;
use vit_core::model::ModelConfig;
use vit_variants::registry::zoo_presets;

use crate::backend::BackendJob;

/// One row of the table.
pub struct ModelRow {
    /// Preset name.
    pub name: &'static str,
    /// `vit`, `deit` or `swin`.
    pub family: &'static str,
    /// Parameter count of the built model.
    pub params: usize,
    /// Multiply-accumulates of one forward pass at the native size.
    pub macs: u64,
    /// Native input size.
    pub img_size: [usize; 2],
    /// Classifier outputs.
    pub num_classes: usize,
}

/// `vit models`: builds every preset (lazily: no weight is allocated) to count its parameters.
#[derive(clap::Args, Debug)]
pub struct ListModels {
    /// List the pretrained weights timm publishes for the presets instead: `architecture.tag`
    /// (what `--model` takes), hub id, classes, input size and ImageNet top-1 where timm
    /// records it; `*` marks timm's default tag (`--model ARCH --pretrained`).
    #[arg(long)]
    pub pretrained: bool,
}

/// `vit models --pretrained`: the tags table.
pub fn render_pretrained() -> String {
    let tags = vit_variants::hub_names::pretrained_tags();
    let width = tags.iter().map(|t| t.name().len()).max().unwrap_or(10) + 2;
    let mut out = format!(
        "{:<width$} {:>7} {:>9} {:>6}  hub id\n",
        "model (* = default tag)", "classes", "input", "top-1"
    );
    for t in tags {
        let mark = if t.default { "*" } else { "" };
        out += &format!(
            "{:<width$} {:>7} {:>9} {:>6}  {}\n",
            format!("{}{mark}", t.name()),
            t.num_classes,
            format!("{}x{}", t.input_size[1], t.input_size[2]),
            t.top1.map_or("-".into(), |a| format!("{a:.2}")),
            t.hub_id,
        );
    }
    out += "top-1: ImageNet-1k validation accuracy (%) from timm's results-imagenet.csv.\n";
    out
}

impl BackendJob for ListModels {
    type Output = Vec<ModelRow>;

    fn run<B: VitBackend>(self, device: B::Device) -> Vec<ModelRow> {
        zoo_presets()
            .map(|(name, config)| {
                let [_, h, w] = config.input_size();
                ModelRow {
                    name,
                    family: config.family(),
                    params: config.num_params::<B>(&device).expect("presets are valid"),
                    macs: config.macs(),
                    img_size: [h, w],
                    num_classes: config.num_classes(),
                }
            })
            .collect()
    }
}

/// Thousands separators: 5717416 → "5,717,416".
pub fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Renders the rows as an aligned text table.
pub fn render(rows: &[ModelRow]) -> String {
    let mut out = format!(
        "{:<34} {:<6} {:>13} {:>7} {:>7} {:>9} {:>7}\n",
        "model", "family", "params", "GMACs", "GFLOPs", "input", "classes"
    );
    for row in rows {
        out += &format!(
            "{:<34} {:<6} {:>13} {:>7.2} {:>7.2} {:>9} {:>7}\n",
            row.name,
            row.family,
            with_commas(row.params),
            row.macs as f64 / 1e9,
            2.0 * row.macs as f64 / 1e9,
            format!("{}x{}", row.img_size[0], row.img_size[1]),
            row.num_classes,
        );
    }
    out += "GMACs: multiply-accumulates per image (timm/fvcore \"GFLOPs\"); GFLOPs = 2 x GMACs.\n";
    out
}
