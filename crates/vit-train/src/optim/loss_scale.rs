//! Dynamic loss scaling for f16 training, as PyTorch's `GradScaler`: the loss is multiplied by a
//! scale before the backward pass so that small gradients survive f16's narrow range; the
//! optimiser divides it out again, skips any step whose gradients hold an inf or NaN (an
//! overflow) and halves the scale, and doubles it after `growth_interval` clean steps in a row.
//!
//! The training step (which scales the loss) and the optimiser (which checks and updates) share
//! one [`LossScaler`]; its state travels in the optimiser's checkpoint, so `--resume` continues
//! with the scale the run had.

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

/// Settings of the dynamic loss scale (PyTorch's `GradScaler` defaults).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LossScaleConfig {
    /// The scale at the first step.
    #[serde(default = "init_scale")]
    pub init_scale: f64,
    /// Multiplier after `growth_interval` steps in a row without an overflow.
    #[serde(default = "growth_factor")]
    pub growth_factor: f64,
    /// Multiplier after an overflow (the step is skipped).
    #[serde(default = "backoff_factor")]
    pub backoff_factor: f64,
    /// Clean steps in a row before the scale grows.
    #[serde(default = "growth_interval")]
    pub growth_interval: usize,
}

fn init_scale() -> f64 {
    65536.0
}
fn growth_factor() -> f64 {
    2.0
}
fn backoff_factor() -> f64 {
    0.5
}
fn growth_interval() -> usize {
    2000
}

impl Default for LossScaleConfig {
    fn default() -> Self {
        Self {
            init_scale: init_scale(),
            growth_factor: growth_factor(),
            backoff_factor: backoff_factor(),
            growth_interval: growth_interval(),
        }
    }
}

impl LossScaleConfig {
    /// Checks the settings; the error names the field (`loss_scale.*`) and what is expected.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "loss_scale.{name} is {v}: expected a finite number > 0"
                ))
            }
        };
        positive("init_scale", self.init_scale)?;
        if !(self.growth_factor.is_finite() && self.growth_factor > 1.0) {
            return Err(format!(
                "loss_scale.growth_factor is {}: expected a finite number > 1",
                self.growth_factor
            ));
        }
        if !(self.backoff_factor > 0.0 && self.backoff_factor < 1.0) {
            return Err(format!(
                "loss_scale.backoff_factor is {}: expected a number in (0, 1)",
                self.backoff_factor
            ));
        }
        if self.growth_interval == 0 {
            return Err("loss_scale.growth_interval is 0: expected at least 1".into());
        }
        Ok(())
    }
}

/// Where the scaler stands; saved with the optimiser.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct LossScaleState {
    /// The current scale.
    pub scale: f64,
    /// Clean steps since the last growth or overflow.
    pub clean_steps: usize,
    /// Optimiser steps seen (applied and skipped), counted over the whole run.
    pub steps: usize,
    /// The (0-based) step numbers that were skipped for an overflow (each halved the scale).
    pub skipped: Vec<usize>,
    /// The step numbers after which the scale grew.
    pub grown: Vec<usize>,
}

impl<B: Backend> Record<B> for LossScaleState {
    type Item<S: PrecisionSettings> = Self;

    fn into_item<S: PrecisionSettings>(self) -> Self {
        self
    }

    fn from_item<S: PrecisionSettings>(item: Self, _device: &B::Device) -> Self {
        item
    }
}

/// The shared loss scale of one run (clones share it).
#[derive(Debug, Clone)]
pub struct LossScaler {
    config: LossScaleConfig,
    state: Arc<Mutex<LossScaleState>>,
}

impl LossScaler {
    /// A scaler at `config.init_scale`.
    pub fn new(config: LossScaleConfig) -> Self {
        let state = LossScaleState {
            scale: config.init_scale,
            clean_steps: 0,
            steps: 0,
            skipped: Vec::new(),
            grown: Vec::new(),
        };
        Self {
            config,
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LossScaleState> {
        // The state is plain numbers: a panic elsewhere cannot leave it half written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The factor the loss is multiplied by now.
    pub fn scale(&self) -> f64 {
        self.lock().scale
    }

    /// Records one optimiser step whose gradients were all finite (`true`: apply it, and grow
    /// the scale after `growth_interval` such steps) or not (`false`: skip it, back off).
    pub fn update(&self, finite: bool) -> bool {
        let mut state = self.lock();
        let step = state.steps;
        state.steps += 1;
        if finite {
            state.clean_steps += 1;
            if state.clean_steps >= self.config.growth_interval {
                let grown = state.scale * self.config.growth_factor;
                // Never to infinity: then every step would overflow.
                if grown.is_finite() && grown <= f32::MAX as f64 {
                    state.scale = grown;
                    state.grown.push(step);
                }
                state.clean_steps = 0;
            }
        } else {
            state.scale *= self.config.backoff_factor;
            state.clean_steps = 0;
            state.skipped.push(step);
        }
        finite
    }

    /// How many of the steps numbered in `steps` (0-based, whole run) were skipped.
    pub fn skipped_in(&self, steps: Range<usize>) -> usize {
        self.lock()
            .skipped
            .iter()
            .filter(|s| steps.contains(s))
            .count()
    }

    /// The scale after the first `steps` steps of the run (e.g. at the end of an epoch, while
    /// the next one may already be running).
    pub fn scale_after(&self, steps: usize) -> f64 {
        let state = self.lock();
        let before = |events: &[usize]| events.iter().filter(|&&s| s < steps).count() as i32;
        self.config.init_scale
            * self.config.growth_factor.powi(before(&state.grown))
            * self.config.backoff_factor.powi(before(&state.skipped))
    }

    /// A copy of the state (for the checkpoint).
    pub fn state(&self) -> LossScaleState {
        self.lock().clone()
    }

    /// Continues from a checkpointed state.
    pub fn restore(&self, state: LossScaleState) {
        *self.lock() = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaler(growth_interval: usize) -> LossScaler {
        LossScaler::new(LossScaleConfig {
            init_scale: 1024.0,
            growth_interval,
            ..Default::default()
        })
    }

    #[test]
    fn an_overflow_skips_the_step_and_halves_the_scale() {
        let s = scaler(3);
        assert!(s.update(true));
        assert!(!s.update(false));
        assert_eq!(s.scale(), 512.0);
        assert_eq!(s.state().skipped, vec![1]);
        assert_eq!(s.skipped_in(0..1), 0);
        assert_eq!(s.skipped_in(1..2), 1);
    }

    #[test]
    fn clean_steps_in_a_row_grow_the_scale_and_an_overflow_restarts_the_count() {
        let s = scaler(3);
        s.update(true);
        s.update(true);
        s.update(false); // 512, count restarts
        s.update(true);
        s.update(true);
        assert_eq!(s.scale(), 512.0);
        s.update(true);
        assert_eq!(s.scale(), 1024.0);
        assert_eq!(s.scale_after(2), 1024.0);
        assert_eq!(s.scale_after(3), 512.0);
        assert_eq!(s.scale_after(6), 1024.0);
    }

    #[test]
    fn clones_share_the_scale_and_a_restored_state_continues() {
        let s = scaler(2);
        let step_side = s.clone();
        s.update(false);
        assert_eq!(step_side.scale(), 512.0);
        let resumed = scaler(2);
        resumed.restore(s.state());
        assert_eq!(resumed.scale(), 512.0);
        resumed.update(false);
        assert_eq!(resumed.state().skipped, vec![0, 1]);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let bad = LossScaleConfig {
            backoff_factor: 1.5,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("loss_scale.backoff_factor")
        );
        let bad = LossScaleConfig {
            init_scale: f64::INFINITY,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("loss_scale.init_scale")
        );
        assert!(LossScaleConfig::default().validate().is_ok());
    }
}
