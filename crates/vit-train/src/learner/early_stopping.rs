//! Early stopping on the validation loss whose patience survives a resume: burn-train's
//! `MetricEarlyStoppingStrategy` keeps the best epoch in memory only, so a resumed run would
//! start counting afresh. This one starts from the run's logged history.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};

use crate::learner::progress::EpochRecord;

/// The name burn-train's `LossMetric` logs under.
const LOSS: &str = "Loss";

/// Stop when the mean validation loss has not improved for `patience` epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidLossPatience {
    patience: usize,
    best: f64,
    best_epoch: usize,
}

impl ValidLossPatience {
    /// A strategy that has already seen `history` (the epochs before a resume; empty for a
    /// new run).
    pub fn new(patience: usize, history: &[EpochRecord]) -> Self {
        let mut strategy = Self {
            patience,
            best: f64::INFINITY,
            best_epoch: 0,
        };
        for record in history {
            if let Some(&loss) = record.valid.get(LOSS) {
                strategy.observe(record.epoch, loss);
            }
        }
        strategy
    }

    /// Records epoch `epoch`'s validation loss; true when training should stop.
    pub fn observe(&mut self, epoch: usize, loss: f64) -> bool {
        if loss < self.best {
            self.best = loss;
            self.best_epoch = epoch;
            return false;
        }
        epoch.saturating_sub(self.best_epoch) >= self.patience
    }

    /// The epoch whose validation loss is the lowest so far (0 before any).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// Whether a run whose last epoch is `epoch` had already stopped.
    pub fn stopped_at(&self, epoch: usize) -> bool {
        self.best_epoch > 0 && epoch.saturating_sub(self.best_epoch) >= self.patience
    }
}

impl EarlyStoppingStrategy for ValidLossPatience {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        match store.find_metric(LOSS, epoch, Aggregate::Mean, &Split::Valid) {
            Some(loss) => self.observe(epoch, loss),
            None => false,
        }
    }
}

/// The run's stopping rules: a loss that is no longer a number (NaN or infinite, train or
/// validation) ends the run at once, and the epoch is remembered so the caller can report it
/// and drop that epoch's checkpoint; otherwise the optional validation-loss patience decides.
#[derive(Clone)]
pub struct StopRules {
    patience: Option<ValidLossPatience>,
    diverged_at: Arc<AtomicUsize>,
    agree: Option<Agreement>,
}

/// Turns this node's yes/no into the run's (a multi-node run stops when any node says stop, so
/// all stop together); the text says what is decided.
pub type Agreement = Arc<dyn Fn(bool, &str) -> bool + Send + Sync>;

impl std::fmt::Debug for StopRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopRules")
            .field("patience", &self.patience)
            .field("diverged_at", &self.diverged_at)
            .field("agreed", &self.agree.is_some())
            .finish()
    }
}

impl StopRules {
    /// Rules with an optional patience; [`Self::diverged_at`] reads the divergence epoch later.
    pub fn new(patience: Option<ValidLossPatience>) -> Self {
        Self {
            patience,
            diverged_at: Arc::new(AtomicUsize::new(0)),
            agree: None,
        }
    }

    /// Decides every epoch together with the other nodes of a multi-node run.
    pub fn with_agreement(mut self, agree: Agreement) -> Self {
        self.agree = Some(agree);
        self
    }

    fn agreed(&self, yes: bool, what: &str) -> bool {
        match &self.agree {
            Some(agree) => agree(yes, what),
            None => yes,
        }
    }

    /// The epoch whose loss became non-finite, if one did (shared by every clone).
    pub fn diverged_at(&self) -> Option<usize> {
        match self.diverged_at.load(Ordering::Relaxed) {
            0 => None,
            epoch => Some(epoch),
        }
    }
}

impl EarlyStoppingStrategy for StopRules {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let diverged = [Split::Train, Split::Valid].iter().any(|split| {
            store
                .find_metric(LOSS, epoch, Aggregate::Mean, split)
                .is_some_and(|loss| !loss.is_finite())
        });
        if self.agreed(diverged, "the divergence check") {
            self.diverged_at.store(epoch, Ordering::Relaxed);
            return true;
        }
        let patience_over = self
            .patience
            .as_mut()
            .is_some_and(|p| p.should_stop(epoch, store));
        self.agreed(patience_over, "early stopping")
    }
}
