//! Optimisation: AdamW with timm's parameter groups and global-norm clipping ([`adamw`]), f16's
//! dynamic loss scale ([`loss_scale`]), and the warm-up + cosine learning-rate schedule
//! ([`schedule`]).

pub mod adamw;
pub mod loss_scale;
pub mod schedule;
