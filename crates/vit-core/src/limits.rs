//! Bounds on model sizes, far above any published model: a mistyped `mlp_ratio: 1e30` or
//! `depth: 1e9` is an error naming the field, not a wrapped cost estimate or an allocation that
//! aborts. Within them every cost and parameter count of every family fits in 64 bits.

use crate::error::{Result, VitError};

/// The most tokens (patches and prefix tokens) a model may have.
pub const MAX_TOKENS: usize = 1 << 16;
/// The widest token dimension.
pub const MAX_WIDTH: usize = 1 << 16;
/// The widest MLP hidden layer (width × `mlp_ratio`).
pub const MAX_MLP_HIDDEN: usize = 1 << 18;
/// The most blocks.
pub const MAX_DEPTH: usize = 1 << 12;
/// The most classes.
pub const MAX_CLASSES: usize = 1 << 24;
/// The most input channels (and register tokens).
pub const MAX_CHANNELS: usize = 1 << 12;
/// The longest image side in pixels (and window side).
pub const MAX_SIDE: usize = 1 << 16;

fn invalid(field: &str, reason: String) -> VitError {
    VitError::InvalidConfig {
        field: field.into(),
        reason,
    }
}

/// `mlp_ratio` must be finite and positive, with `width × mlp_ratio` at most
/// [`MAX_MLP_HIDDEN`] (`width`: the widest token dimension it applies to).
pub fn check_mlp_ratio(width: usize, mlp_ratio: f64) -> Result<()> {
    let hidden = width as f64 * mlp_ratio;
    if mlp_ratio.is_finite() && mlp_ratio > 0.0 && hidden <= MAX_MLP_HIDDEN as f64 {
        return Ok(());
    }
    Err(invalid(
        "mlp_ratio",
        format!(
            "must be > 0 with width {width} × mlp_ratio at most {MAX_MLP_HIDDEN}, got {mlp_ratio}"
        ),
    ))
}

/// Each `(field, value, bound)`: the value at most its bound.
pub fn check_bounds(fields: &[(&str, usize, usize)]) -> Result<()> {
    for &(field, value, max) in fields {
        if value > max {
            return Err(invalid(field, format!("is {value}; at most {max}")));
        }
    }
    Ok(())
}
