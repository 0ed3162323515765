//! One training run per output folder at a time: an exclusive lock on `DIR/.vit-train.lock`,
//! which the operating system releases when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Result, TrainError};

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".vit-train.lock";

/// Holds the run folder's lock until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Locks `dir` (which must exist) for this process, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(TrainError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the message a second run gets.
                let holder = format!("pid {}\n", std::process::id());
                file.set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| file.write_all(holder.as_bytes()))
                    .and_then(|()| file.flush())
                    .map_err(TrainError::io(&path))?;
                Ok(Self { _file: file })
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
                Err(TrainError::Run(format!(
                    "{} is in use by another training run ({holder}): wait for it to finish, or \
                     choose another output folder",
                    dir.display()
                )))
            }
            Err(TryLockError::Error(e)) => Err(TrainError::io(&path)(e)),
        }
    }
}
