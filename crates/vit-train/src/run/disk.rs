//! Free disk space, checked before a run and after each epoch: burn-train's metric logger
//! panics (and aborts the process) when a write fails, so a run stops cleanly, with an error
//! naming the folder, before the disk is full.

use std::path::Path;

use vit_core::memory::human;

use crate::error::{Result, TrainError};

/// What a run leaves besides checkpoints: logs, curves, metric files (generous).
const LOG_BYTES: u64 = 64 << 20;

/// Bytes free for this user on the file system holding `dir`, where the platform says.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `path` is a valid C string and `stats` a buffer statvfs fills on success.
        let status = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
        if status != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it filled `stats`.
        let stats = unsafe { stats.assume_init() };
        // The field types are 32-bit on some platforms.
        #[allow(clippy::unnecessary_cast)]
        Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// The disk a run of a model with `params` parameters needs from now on: `checkpoints` epoch
/// checkpoints at a time (f32 weights and AdamW's two moments, 12 bytes a parameter), the saved
/// model (4 bytes a parameter) and the logs.
pub fn run_needs(params: u64, checkpoints: u64) -> u64 {
    params
        .saturating_mul(12)
        .saturating_mul(checkpoints)
        .saturating_add(params.saturating_mul(4))
        .saturating_add(LOG_BYTES)
}

/// Refuses to go on when `dir`'s file system has less than `needed` bytes free.
pub fn check_free(dir: &Path, needed: u64) -> Result<()> {
    match free_bytes(dir) {
        Some(free) if free < needed => Err(TrainError::Run(format!(
            "{}: {} free on its disk, the run needs ~{} (checkpoints, model and logs); free some \
             space, lower keep_checkpoints, or choose another output folder",
            dir.display(),
            human(free),
            human(needed)
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_without_room_for_the_run_is_refused_naming_the_folder() {
        let dir = std::env::temp_dir();
        assert!(free_bytes(&dir).is_some_and(|b| b > 0));
        check_free(&dir, 1).unwrap();
        let e = check_free(&dir, u64::MAX).unwrap_err().to_string();
        assert!(
            e.contains(&dir.display().to_string()) && e.contains("free"),
            "{e}"
        );
        assert_eq!(run_needs(1_000, 3), 36_000 + 4_000 + LOG_BYTES);
    }
}
