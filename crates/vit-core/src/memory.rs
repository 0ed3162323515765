//! Memory a model needs, estimated from its config before anything is allocated, checked
//! against what the machine has free: a mistyped `depth: 1000000` is refused with the field
//! named, instead of allocating gigabytes and aborting.

use crate::error::{Result, VitError};
use crate::model::ModelConfig;

/// Bytes free for this process on this machine (Linux: `MemAvailable` of `/proc/meminfo`);
/// `None` where unknown — then nothing is refused.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `bytes` in the unit a person reads (GB with one decimal, or MB).
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// Refuses a model whose f32 weights alone would not fit in the free memory, naming `field`
/// (the config's size fields, e.g. `depth / embed_dim`).
pub fn check_weights_fit(config: &dyn ModelConfig, field: &str) -> Result<()> {
    let Some(free) = available_bytes() else {
        return Ok(());
    };
    let weights = config.param_estimate().saturating_mul(4);
    if weights > free {
        return Err(VitError::InvalidConfig {
            field: field.into(),
            reason: format!(
                "this model would have ~{} parameters: {} for its weights alone, more than the {} \
                 of memory free here; check the size fields",
                config.param_estimate(),
                human(weights),
                human(free)
            ),
        });
    }
    Ok(())
}
