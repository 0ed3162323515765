//! What the user sees while training: on a terminal a progress bar with ETA, always one line per
//! epoch (train and validation metrics); the per-epoch means are kept for the log and the plot.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::LearnerSummary;
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};

use crate::optim::loss_scale::LossScaler;

/// The mean of every numeric metric over one epoch.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training split: metric name → mean.
    pub train: BTreeMap<String, f64>,
    /// Validation split: metric name → mean.
    pub valid: BTreeMap<String, f64>,
    /// Seconds since training started, at the end of the epoch.
    pub elapsed_s: f64,
}

#[derive(Default)]
struct Sums(HashMap<String, (f64, f64)>);

impl Sums {
    fn add(&mut self, name: String, entry: &NumericEntry) {
        let (value, count) = match entry {
            NumericEntry::Value(v) => (*v, 1.0),
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => (*aggregated_value, *count as f64),
        };
        let slot = self.0.entry(name).or_default();
        slot.0 += value * count;
        slot.1 += count;
    }
    fn means(&mut self) -> BTreeMap<String, f64> {
        self.0
            .drain()
            .filter(|(_, (_, n))| *n > 0.0)
            .map(|(k, (s, n))| (k, s / n))
            .collect()
    }
}

/// Called with the whole history after each epoch (to write the logs and the plot).
pub type EpochHook = Box<dyn FnMut(&[EpochRecord]) + Send + Sync>;

/// A quiet [`MetricsRenderer`]: a bar on terminals, a line per epoch everywhere.
pub struct EpochRenderer {
    names: HashMap<MetricId, String>,
    train: Sums,
    /// The train means of the epoch whose last batch has been seen, until its validation ends.
    completed_train: Option<BTreeMap<String, f64>>,
    valid: Sums,
    epoch: usize,
    /// The last epoch written to the history (an epoch is closed once).
    closed: usize,
    first_epoch: usize,
    epochs: usize,
    start: Instant,
    /// Seconds spent before a resume, so `elapsed_s` counts the whole run.
    earlier_s: f64,
    tty: bool,
    history: Arc<Mutex<Vec<EpochRecord>>>,
    on_epoch: Option<EpochHook>,
    /// f16's loss scale and the optimiser steps per epoch, for the per-epoch columns.
    loss_scale: Option<(LossScaler, usize)>,
}

impl EpochRenderer {
    /// A renderer for epochs `first_epoch..=epochs` (1-based; `first_epoch` > 1 when resuming,
    /// then `history` holds the earlier epochs); the records are appended to `history`.
    pub fn new(first_epoch: usize, epochs: usize, history: Arc<Mutex<Vec<EpochRecord>>>) -> Self {
        let earlier_s = history
            .lock()
            .ok()
            .and_then(|h| h.last().map(|r| r.elapsed_s))
            .unwrap_or(0.0);
        Self {
            names: HashMap::new(),
            train: Sums::default(),
            completed_train: None,
            valid: Sums::default(),
            epoch: 0,
            closed: 0,
            first_epoch,
            epochs,
            start: Instant::now(),
            earlier_s,
            tty: std::io::stderr().is_terminal(),
            history,
            on_epoch: None,
            loss_scale: None,
        }
    }

    /// Adds the epoch's skipped steps (overflows) and the loss scale at its end to the train
    /// columns (`skipped steps`, `loss scale`) of an f16 run with `steps_per_epoch` steps.
    pub fn with_loss_scale(mut self, scaler: LossScaler, steps_per_epoch: usize) -> Self {
        self.loss_scale = Some((scaler, steps_per_epoch));
        self
    }

    /// Runs `hook` with the history after every epoch.
    pub fn on_epoch(mut self, hook: EpochHook) -> Self {
        self.on_epoch = Some(hook);
        self
    }

    fn name(&self, id: &MetricId) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("{id:?}"))
    }

    fn finish_epoch(&mut self) {
        if self.epoch == 0 || self.epoch == self.closed {
            return;
        }
        self.closed = self.epoch;
        let mut train = match self.completed_train.take() {
            Some(train) => train,
            None => self.train.means(),
        };
        if let Some((scaler, steps)) = &self.loss_scale {
            // Counted by step number: the next epoch may already be running.
            let epoch = (self.epoch - 1) * steps..self.epoch * steps;
            train.insert(
                "skipped steps".into(),
                scaler.skipped_in(epoch.clone()) as f64,
            );
            train.insert("loss scale".into(), scaler.scale_after(epoch.end));
        }
        let record = EpochRecord {
            epoch: self.epoch,
            train,
            valid: self.valid.means(),
            elapsed_s: self.earlier_s + self.start.elapsed().as_secs_f64(),
        };
        let show = |m: &BTreeMap<String, f64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!(
            "epoch {:>3}/{} ({:>5.0} s) train: {} | valid: {}",
            record.epoch,
            self.epochs,
            record.elapsed_s,
            show(&record.train),
            show(&record.valid)
        );
        if let Ok(mut history) = self.history.lock() {
            history.push(record);
            if let Some(hook) = &mut self.on_epoch {
                hook(&history);
            }
        }
    }
}

impl MetricsRendererTraining for EpochRenderer {
    fn update_train(&mut self, state: MetricState) {
        // burn-train reports a batch's metrics before its progress: the first batch of a new
        // epoch arrives here while the previous epoch is still open. Close that epoch first,
        // so each epoch averages exactly its own batches.
        if self.completed_train.is_some() {
            self.finish_epoch();
        }
        if let MetricState::Numeric(entry, value) = state {
            let name = self.name(&entry.metric_id);
            self.train.add(name, &value);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let MetricState::Numeric(entry, value) = state {
            let name = self.name(&entry.metric_id);
            self.valid.add(name, &value);
        }
    }

    fn render_train(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        let epoch = item.global_progress.items_processed;
        if epoch != self.epoch {
            // Usually closed already by `update_train`; without progress counts (see below)
            // this is where it closes.
            self.finish_epoch();
            self.epoch = epoch;
        }
        if let Some(p) = &item.progress
            && p.items_processed >= p.items_total
        {
            // The epoch's last batch: its train metrics are complete.
            self.completed_train = Some(self.train.means());
        }
        if self.tty
            && let Some(p) = item.progress
        {
            let done = p.items_processed as f64 / p.items_total.max(1) as f64;
            let remaining_epochs = (self.epochs + 1).saturating_sub(self.first_epoch).max(1);
            let overall =
                ((epoch.saturating_sub(self.first_epoch)) as f64 + done) / remaining_epochs as f64;
            let elapsed = self.start.elapsed().as_secs_f64();
            let eta = if overall > 0.0 {
                elapsed / overall - elapsed
            } else {
                0.0
            };
            let width = 30;
            let filled = (done * width as f64) as usize;
            eprint!(
                "\r\x1b[2Kepoch {epoch}/{} [{}{}] {}/{} ETA {:.0} s",
                self.epochs,
                "#".repeat(filled),
                " ".repeat(width - filled.min(width)),
                p.items_processed,
                p.items_total,
                eta
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn render_valid(&mut self, _: TrainingProgress, _: Vec<ProgressType>) {}

    fn on_train_end(
        &mut self,
        _: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        self.finish_epoch();
        self.epoch = 0;
        Ok(())
    }
}

impl MetricsRendererEvaluation for EpochRenderer {
    fn update_test(&mut self, _: EvaluationName, _: MetricState) {}
    fn render_test(&mut self, _: EvaluationProgress, _: Vec<ProgressType>) {}
}

impl MetricsRenderer for EpochRenderer {
    fn manual_close(&mut self) {
        self.finish_epoch();
        self.epoch = 0;
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }
}
