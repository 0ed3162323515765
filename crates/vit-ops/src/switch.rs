//! The one switch between the hand-written kernels and Burn's composed ops.

use std::sync::atomic::{AtomicU8, Ordering};

/// Environment variable read once: `VIT_OPS=burn` forces Burn's composed ops everywhere.
pub const ENV_VAR: &str = "VIT_OPS";

const UNSET: u8 = 0;
const FAST: u8 = 1;
const BURN: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNSET);

/// Whether the CPU backends run vit-ops' own kernels (the default) rather than Burn's composed
/// ops. Off when [`set_fast_path`]`(false)` was called, or when the process started with
/// `VIT_OPS=burn`.
pub fn fast_path_enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        FAST => true,
        BURN => false,
        _ => {
            let fast = std::env::var(ENV_VAR).map_or(true, |v| !v.eq_ignore_ascii_case("burn"));
            STATE.store(if fast { FAST } else { BURN }, Ordering::Relaxed);
            fast
        }
    }
}

/// Turns the hand-written kernels on or off for the whole process (off: every op is the
/// composition of Burn ops the kernel replaces, forward and backward).
pub fn set_fast_path(enabled: bool) {
    STATE.store(if enabled { FAST } else { BURN }, Ordering::Relaxed);
}
