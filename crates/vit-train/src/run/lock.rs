//! One training run per output folder at a time: an exclusive lock on `DIR/.vit-train.lock`,
//! which the operating system releases when the process ends, however it ends. The file is
//! removed when the run ends (successfully or not); one left by a killed process is harmless
//! and taken over by the next run.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".vit-train.lock";

/// Holds the run folder's lock until dropped; dropping removes the lock file.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Locks `dir` (which must exist) for this process, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        // A run that ends removes the file while still holding it: a process that opened the
        // old file just before then locks a file no longer in the folder, so it checks and
        // tries again on the new one.
        for _ in 0..8 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(TrainError::io(&path))?;
            match file.try_lock() {
                Ok(()) => {
                    if !same_file(&file, &path) {
                        continue;
                    }
                    // Who holds it, for the message a second run gets.
                    let holder = format!("pid {}\n", std::process::id());
                    file.set_len(0)
                        .and_then(|()| file.rewind())
                        .and_then(|()| file.write_all(holder.as_bytes()))
                        .and_then(|()| file.flush())
                        .map_err(TrainError::io(&path))?;
                    return Ok(Self { file, path });
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let holder = if holder.is_empty() {
                        "another process"
                    } else {
                        holder
                    };
                    return Err(TrainError::Run(format!(
                        "{} is in use by another training run ({holder}): wait for it to \
                         finish, or choose another output folder",
                        dir.display()
                    )));
                }
                Err(TryLockError::Error(e)) => return Err(TrainError::io(&path)(e)),
            }
        }
        Err(TrainError::Run(format!(
            "{}: the lock file keeps changing under this run; is another program removing it?",
            path.display()
        )))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked (the lock goes with the descriptor, after this).
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether the open `file` is the one at `path` now.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Elsewhere no identity is known: the path is trusted.
#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}
