//! Atomic file writes: a file is written beside its target and renamed over it, so a reader (or
//! a killed run) never sees half a file.

use std::path::{Path, PathBuf};

/// The hidden temporary path beside `path` that a write goes to before its rename
/// (`dir/.name.tmp<pid>`: one per process, so concurrent writers do not share it).
pub fn temp_path_beside(path: &Path) -> std::io::Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// Writes through `write` into a temporary file beside `path`, then renames it over `path`; the
/// temporary file is removed when anything fails.
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = temp_path_beside(path)?;
    let written = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(E::from));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, bytes))
}
