//! `vit models`: the catalogue — every architecture (buildable or not yet) or every pretrained
//! tag, filtered by family and name.

use vit_core::VitBackend;
use vit_core::model::ModelConfig;
use vit_variants::catalogue::{CatalogueEntry, catalogue, catalogue_summary};
use vit_variants::hub_names::pretrained_tags;

use crate::backend::BackendJob;

/// One row of the table.
pub struct ModelRow {
    /// timm's architecture name.
    pub name: &'static str,
    /// `vit`, `deit`, `hybrid` or `swin`.
    pub family: &'static str,
    /// Parameter count: of the built model, or timm's for an architecture not built yet.
    pub params: usize,
    /// Multiply-accumulates of one forward pass at the native size (built models only).
    pub macs: Option<u64>,
    /// Native input size.
    pub img_size: Option<[usize; 2]>,
    /// Classifier outputs.
    pub num_classes: Option<usize>,
    /// Why the architecture does not build yet (the timm argument it needs).
    pub missing: Option<String>,
}

/// `vit models`: the catalogue's architectures (no weight is allocated to count parameters).
#[derive(clap::Args, Debug)]
pub struct ListModels {
    /// Only names containing this text (`*` matches any run of characters: `'*dinov2*'`).
    pub filter: Option<String>,
    /// Only this family: vit, deit, hybrid, swin, swinv2, eva, naflexvit, beit or vit_relpos.
    #[arg(long)]
    pub family: Option<String>,
    /// List the pretrained weights timm publishes instead: `architecture.tag` (what `--model`
    /// takes), hub id (or the URL of weights not on the hub), classes, input size and ImageNet
    /// top-1 where timm records it; `*` marks timm's default tag (`--model ARCH --pretrained`).
    #[arg(long)]
    pub pretrained: bool,
}

impl ListModels {
    /// Whether `name` of `family` passes the filters.
    fn keeps(&self, name: &str, family: &str) -> bool {
        self.family.as_deref().is_none_or(|f| f == family)
            && self
                .filter
                .as_deref()
                .is_none_or(|pattern| matches_pattern(name, pattern))
    }
}

/// `name` against a pattern: a plain text is a substring; `*` matches any run of characters.
pub fn matches_pattern(name: &str, pattern: &str) -> bool {
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        match rest.find(part) {
            Some(at) if i > 0 || at == 0 => rest = &rest[at + part.len()..],
            _ => return false,
        }
    }
    parts
        .last()
        .is_none_or(|last| last.is_empty() || rest.is_empty())
}

/// `vit models --pretrained`: the tags table.
pub fn render_pretrained(job: &ListModels) -> String {
    let families: Vec<(&str, &str)> = catalogue().map(|e| (e.name, e.family)).collect();
    let family_of = |arch: &str| {
        families
            .iter()
            .find(|(n, _)| *n == arch)
            .map_or("", |(_, f)| *f)
    };
    let tags: Vec<_> = pretrained_tags()
        .iter()
        .filter(|t| job.keeps(&t.name(), family_of(t.architecture)))
        .collect();
    let width = tags.iter().map(|t| t.name().len()).max().unwrap_or(10) + 2;
    let mut out = format!(
        "{:<width$} {:>7} {:>9} {:>6}  hub id\n",
        "model (* = default tag)", "classes", "input", "top-1"
    );
    for t in &tags {
        let mark = if t.default { "*" } else { "" };
        let source = match (t.hub_id, t.url) {
            (Some(id), _) => id.to_string(),
            (None, Some(url)) => format!("(not on the hub) {url}"),
            (None, None) => String::new(),
        };
        out += &format!(
            "{:<width$} {:>7} {:>9} {:>6}  {}\n",
            format!("{}{mark}", t.name()),
            t.num_classes,
            format!("{}x{}", t.input_size[1], t.input_size[2]),
            t.top1.map_or("-".into(), |a| format!("{a:.2}")),
            source,
        );
    }
    out += &format!(
        "{} tags. top-1: ImageNet-1k validation accuracy (%) from timm's results-imagenet.csv.\n",
        tags.len()
    );
    out
}

impl BackendJob for ListModels {
    type Output = Vec<ModelRow>;

    fn run<B: VitBackend>(self, device: B::Device) -> Vec<ModelRow> {
        catalogue()
            .filter(|e| self.keeps(e.name, e.family))
            .map(|entry| row::<B>(entry, &device))
            .collect()
    }
}

fn row<B: VitBackend>(entry: CatalogueEntry, device: &B::Device) -> ModelRow {
    match entry.config {
        Ok(config) => {
            let [_, h, w] = config.input_size();
            // Counted on the built model (lazily: nothing allocated); the estimate where the
            // memory check refuses to build it on this machine.
            let params = config
                .num_params::<B>(device)
                .unwrap_or(config.param_estimate() as usize);
            ModelRow {
                name: entry.name,
                family: entry.family,
                params,
                macs: Some(config.macs()),
                img_size: Some([h, w]),
                num_classes: Some(config.num_classes()),
                missing: None,
            }
        }
        Err(e) => ModelRow {
            name: entry.name,
            family: entry.family,
            params: entry.timm_params.unwrap_or(0) as usize,
            macs: None,
            img_size: None,
            num_classes: None,
            missing: Some(match e {
                vit_core::error::VitError::UnsupportedArchitecture { arg, .. } => arg,
                other => other.to_string(),
            }),
        },
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

/// Renders the rows as an aligned text table; architectures that do not build yet come last,
/// with timm's parameter count and the argument they need.
pub fn render(rows: &[ModelRow]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(5).max(34);
    let mut out = format!(
        "{:<width$} {:<6} {:>13} {:>7} {:>7} {:>9} {:>7}\n",
        "model", "family", "params", "GMACs", "GFLOPs", "input", "classes"
    );
    for row in rows.iter().filter(|r| r.missing.is_none()) {
        let macs = row.macs.unwrap_or(0) as f64 / 1e9;
        let [h, w] = row.img_size.unwrap_or([0, 0]);
        out += &format!(
            "{:<width$} {:<6} {:>13} {:>7.2} {:>7.2} {:>9} {:>7}\n",
            row.name,
            row.family,
            with_commas(row.params),
            macs,
            2.0 * macs,
            format!("{h}x{w}"),
            row.num_classes.unwrap_or(0),
        );
    }
    out += "GMACs: multiply-accumulates per image (timm/fvcore \"GFLOPs\"); GFLOPs = 2 x GMACs.\n";
    let missing: Vec<&ModelRow> = rows.iter().filter(|r| r.missing.is_some()).collect();
    if !missing.is_empty() {
        out += "\nnot built yet (timm's parameter count; the timm argument they need):\n";
        for row in missing {
            out += &format!(
                "{:<width$} {:<6} {:>13}   needs `{}`\n",
                row.name,
                row.family,
                with_commas(row.params),
                row.missing.as_deref().unwrap_or(""),
            );
        }
    }
    out += &format!("{}\n", catalogue_summary());
    out
}
