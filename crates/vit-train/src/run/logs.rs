//! A run's per-epoch record on disk: `metrics.csv` for people, `metrics.json` for `--resume`,
//! `curves.png` for the eye; each written atomically after every epoch.

use crate::error::{Result, TrainError};
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::RunPaths;
use crate::learner::progress::EpochRecord;
use vit_viz::charts::{Panel, Series, line_panels_png};

/// One split's metrics of an epoch.
type Split = fn(&EpochRecord) -> &BTreeMap<String, f64>;

/// The history of the epochs before `first_epoch` from a run's `metrics.json`.
pub fn read_history(path: &Path, first_epoch: usize) -> Result<Vec<EpochRecord>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut history: Vec<EpochRecord> = serde_json::from_str(&text)
        .map_err(|e| TrainError::Run(format!("{}: {e}", path.display())))?;
    history.retain(|r| r.epoch < first_epoch);
    Ok(history)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    vit_core::atomic_file::write_atomic(path, bytes).map_err(TrainError::io(path))
}

/// Writes the per-epoch metrics (CSV and JSON), each atomically.
pub fn write_logs(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    write(&paths.log(), metrics_csv(history).as_bytes())?;
    let json = serde_json::to_string_pretty(history).expect("records serialise");
    write(&paths.history(), json.as_bytes())
}

/// Draws the curves (PNG), atomically.
pub fn write_plot(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    write(&paths.plot(), &curves_png(history)?)
}

/// The per-epoch means as CSV (`epoch,seconds,train <metric>…,valid <metric>…`).
pub fn metrics_csv(history: &[EpochRecord]) -> String {
    let columns = |pick: Split| {
        let mut names: Vec<String> = history
            .iter()
            .flat_map(|r| pick(r).keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let (train_cols, valid_cols) = (columns(|r| &r.train), columns(|r| &r.valid));
    let mut csv = String::from("epoch,seconds");
    for name in &train_cols {
        csv += &format!(",train {name}");
    }
    for name in &valid_cols {
        csv += &format!(",valid {name}");
    }
    csv.push('\n');
    let cell = |m: &BTreeMap<String, f64>, name: &str| {
        m.get(name).map_or(String::new(), |v| format!(",{v}"))
    };
    for r in history {
        csv += &format!("{},{:.2}", r.epoch, r.elapsed_s);
        for name in &train_cols {
            let c = cell(&r.train, name);
            csv += if c.is_empty() { "," } else { &c };
        }
        for name in &valid_cols {
            let c = cell(&r.valid, name);
            csv += if c.is_empty() { "," } else { &c };
        }
        csv.push('\n');
    }
    csv
}

/// Loss and top-1 accuracy per epoch, training and validation, as a PNG.
pub fn curves_png(history: &[EpochRecord]) -> Result<Vec<u8>> {
    let series = |name: &str, split: Split, key: &str| Series {
        name: name.to_string(),
        points: history
            .iter()
            .filter_map(|r| split(r).get(key).map(|v| (r.epoch as f64, *v)))
            .collect(),
    };
    let (train, valid): (Split, Split) = (|r| &r.train, |r| &r.valid);
    let panels = [
        Panel {
            // The training loss is the optimised one (label smoothing, Mixup, distillation);
            // the validation loss is plain cross-entropy.
            title: "Loss (train: as optimised; valid: cross-entropy)".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                series("train", train, "Loss"),
                series("valid", valid, "Loss"),
            ],
        },
        Panel {
            title: "Accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy (%)".into(),
            series: vec![
                series("train top-1", train, "Accuracy"),
                series("valid top-1", valid, "Accuracy"),
                series("valid top-5", valid, "Top-K Accuracy @ TopK(5)"),
            ],
        },
    ];
    line_panels_png("Training curves", &panels, 1200, 500).map_err(TrainError::Run)
}
