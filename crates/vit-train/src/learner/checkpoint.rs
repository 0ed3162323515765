//! Per-epoch checkpoints that a crash cannot corrupt, and finding the last complete one.
//!
//! burn-train's file checkpointer writes `model-N`, `optim-N` and `scheduler-N` in place (a
//! crash mid-write leaves a torn file). [`AtomicRecorder`] writes each into a `.partial/`
//! folder first and renames it into place, so a file that exists is whole; an epoch is
//! complete when all three exist.

use std::path::{Path, PathBuf};
use vit_core::VitBackend;

use burn::record::{
    FileRecorder, FullPrecisionSettings, NamedMpkFileRecorder, Recorder, RecorderError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Full precision MessagePack (resuming must continue from the exact weights and moments).
type Inner = NamedMpkFileRecorder<FullPrecisionSettings>;

/// The three records burn-train checkpoints each epoch.
pub const CHECKPOINT_NAMES: [&str; 3] = ["model", "optim", "scheduler"];

/// A file recorder that writes to a temporary file and renames it into place.
#[derive(Debug, Default, Clone)]
pub struct AtomicRecorder {
    inner: Inner,
}

impl<B: VitBackend> Recorder<B> for AtomicRecorder {
    type Settings = FullPrecisionSettings;
    type RecordArgs = PathBuf;
    type RecordOutput = ();
    type LoadArgs = PathBuf;

    fn save_item<I: Serialize>(&self, item: I, file: PathBuf) -> Result<(), RecorderError> {
        let extension = <Inner as FileRecorder<B>>::file_extension();
        let io = |e: std::io::Error| RecorderError::Unknown(format!("{}: {e}", file.display()));
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = file
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let partial_dir = dir.join(".partial");
        std::fs::create_dir_all(&partial_dir).map_err(io)?;
        // The inner recorder appends the extension to whatever it is given.
        let partial = partial_dir.join(&name);
        Recorder::<B>::save_item(&self.inner, item, partial.clone())?;
        let written = partial.with_extension(extension);
        let target = dir.join(name).with_extension(extension);
        std::fs::rename(&written, &target).map_err(io)
    }

    fn load_item<I: DeserializeOwned>(&self, file: &mut PathBuf) -> Result<I, RecorderError> {
        Recorder::<B>::load_item(&self.inner, file)
    }
}

impl<B: VitBackend> FileRecorder<B> for AtomicRecorder {
    fn file_extension() -> &'static str {
        <Inner as FileRecorder<B>>::file_extension()
    }
}

/// The last epoch whose model, optimiser and scheduler checkpoints are all in `dir`.
pub fn last_complete_epoch(dir: &Path) -> Option<usize> {
    let entries = std::fs::read_dir(dir).ok()?;
    let epochs = entries.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        let epoch = name.strip_prefix("model-")?.strip_suffix(".mpk")?;
        epoch.parse::<usize>().ok()
    });
    epochs
        .filter(|epoch| {
            CHECKPOINT_NAMES
                .iter()
                .all(|n| dir.join(format!("{n}-{epoch}.mpk")).is_file())
        })
        .max()
}
