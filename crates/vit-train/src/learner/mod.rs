//! What burn-train's `Learner` runs: the train and valid steps ([`classifier`]) with their losses
//! ([`loss`]: smoothed and soft-target cross-entropy, DeiT distillation), atomic checkpoints
//! ([`checkpoint`]), early stopping ([`early_stopping`]) and the per-epoch renderer
//! ([`progress`]).

pub mod checkpoint;
pub mod classifier;
pub mod early_stopping;
pub mod loss;
pub mod progress;
