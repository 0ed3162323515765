//! Optimisation: AdamW with timm's parameter groups and global-norm clipping ([`adamw`]), and
//! the warm-up + cosine learning-rate schedule ([`schedule`]).

pub mod adamw;
pub mod schedule;
