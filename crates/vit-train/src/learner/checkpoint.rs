//! Per-epoch checkpoints that a crash cannot corrupt, and finding the last complete one.
//!
//! burn-train's file checkpointer writes `model-N`, `optim-N` and `scheduler-N` in place (a
//! crash mid-write leaves a torn file). [`AtomicRecorder`] writes each into a `.partial/`
//! folder first and renames it into place, so a file that exists is whole; an epoch is
//! complete when all three exist.

use std::path::{Path, PathBuf};
use vit_core::{VitAutodiffBackend, VitBackend};

use burn::module::AutodiffModule;
use burn::optim::Optimizer;

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
        let shown = file.display().to_string();
        Recorder::<B>::load_item(&self.inner, file).map_err(|e| {
            RecorderError::Unknown(format!(
                "{shown}.{}: {e}",
                <Self as FileRecorder<B>>::file_extension()
            ))
        })
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

/// Reads the checkpoint of `epoch` in `dir` (model `M`, optimiser `O`, scheduler) exactly as
/// burn-train will when resuming: burn-train panics on a torn or corrupt file, so it is read
/// here first and a failure is an error naming the file and what to do.
pub fn verify_checkpoint<B, M, O>(
    dir: &Path,
    epoch: usize,
    device: &B::Device,
) -> crate::error::Result<()>
where
    B: VitAutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    let recorder = AtomicRecorder::default();
    let fail = |e: RecorderError| {
        crate::error::TrainError::Run(format!(
            "the checkpoint of epoch {epoch} cannot be read: {e}; delete that epoch's files \
             ({}) to resume from the epoch before, or start the run again",
            CHECKPOINT_NAMES
                .map(|n| format!("{n}-{epoch}.mpk"))
                .join(", ")
        ))
    };
    let file = |name: &str| dir.join(format!("{name}-{epoch}"));
    Recorder::<B>::load::<M::Record>(&recorder, file("model"), device).map_err(fail)?;
    Recorder::<B>::load::<O::Record>(&recorder, file("optim"), device).map_err(fail)?;
    Recorder::<B>::load::<usize>(&recorder, file("scheduler"), device).map_err(fail)?;
    Ok(())
}
