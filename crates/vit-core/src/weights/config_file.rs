//! Reading and writing config files (JSON) strictly: unknown fields are errors, writes are atomic.

use std::path::Path;

use burn::config::Config;
use serde_json::Value;

use crate::atomic_file::write_atomic;
use crate::error::{Result, VitError};

/// Parses a config from JSON text over `base`: fields the text leaves out keep `base`'s
/// values, so a file may hold only the fields it changes. `path` only names the source in errors.
///
/// A field the config does not have is an error that names it (a typo such as `embed_dims`
/// must not silently build a different model).
pub fn config_from_json<C: Config>(text: &str, path: &Path, base: &C) -> Result<C> {
    let parse_error = |e: serde_json::Error| VitError::ConfigParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let given: Value = serde_json::from_str(text).map_err(parse_error)?;
    let known = serde_json::to_value(base).map_err(parse_error)?;
    let mut unknown = Vec::new();
    collect_unknown(&given, &known, "", &mut unknown);
    if !unknown.is_empty() {
        let known_fields = match &known {
            Value::Object(map) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        return Err(VitError::UnknownFields {
            path: path.to_path_buf(),
            fields: unknown,
            known: known_fields,
        });
    }
    let mut merged = known;
    merge(&mut merged, given);
    serde_json::from_value(merged).map_err(parse_error)
}

/// Overlays `given` on `base`: objects field by field, anything else replaced whole.
fn merge(base: &mut Value, given: Value) {
    match (base, given) {
        (Value::Object(base), Value::Object(given)) => {
            for (key, value) in given {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

fn collect_unknown(given: &Value, known: &Value, prefix: &str, out: &mut Vec<String>) {
    if let (Value::Object(given), Value::Object(known)) = (given, known) {
        for (key, value) in given {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match known.get(key) {
                Some(known_value) => collect_unknown(value, known_value, &path, out),
                None => out.push(path),
            }
        }
    }
}

/// Reads a config file over `base` (see [`config_from_json`]); errors name the file and field.
pub fn load_config<C: Config>(path: impl AsRef<Path>, base: &C) -> Result<C> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| VitError::ConfigIo {
        path: path.to_path_buf(),
        source,
    })?;
    config_from_json(&text, path, base)
}

/// Writes a config as pretty JSON, atomically (temporary file, then rename), so an
/// interrupted write never leaves a truncated config behind.
pub fn save_config<C: Config>(config: &C, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let io_error = |source| VitError::ConfigIo {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(config).map_err(|e| VitError::ConfigParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes()).map_err(io_error)
}
