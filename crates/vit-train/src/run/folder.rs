//! What a run folder holds of a previous run, and what of it this program wrote: a fresh run
//! never replaces a previous one's results unless told to (`Start::Overwrite`), and the
//! clean-up after a killed run touches only files a run writes.

use std::path::{Path, PathBuf};

use vit_core::atomic_file::remove_orphan_temps;

use crate::config::RunPaths;
use crate::error::{Result, TrainError};
use crate::learner::checkpoint::CHECKPOINT_NAMES;

/// The files and folders a run writes at the top of its folder.
fn outputs(paths: &RunPaths) -> [PathBuf; 6] {
    [
        paths.config(),
        paths.log(),
        paths.history(),
        paths.plot(),
        paths.model(),
        paths.learner(),
    ]
}

/// The previous run's outputs present in the folder (whoever wrote them).
pub fn previous_outputs(paths: &RunPaths) -> Vec<PathBuf> {
    outputs(paths)
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect()
}

/// Refuses a fresh run in a folder holding a previous run's results, naming them.
pub fn refuse_previous_outputs(paths: &RunPaths) -> Result<()> {
    let found = previous_outputs(paths);
    if found.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = found
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    Err(TrainError::Run(format!(
        "{} already holds results ({}): continue that run with --resume, replace it with \
         --overwrite, or choose another output folder",
        paths.dir.display(),
        names.join(", ")
    )))
}

/// Removes the previous run's outputs (what `--overwrite` asked for): only the names a run
/// writes, never anything else in the folder.
pub fn remove_previous_outputs(paths: &RunPaths) -> Result<()> {
    for path in previous_outputs(paths) {
        let meta = std::fs::symlink_metadata(&path).map_err(TrainError::io(&path))?;
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(TrainError::io(&path))?;
    }
    Ok(())
}

/// Removes the temporary files a killed run left: in the run folder those of its own outputs,
/// in the checkpoint folder those of checkpoints, in the model folder any of ours.
pub fn remove_run_temps(paths: &RunPaths) -> Result<()> {
    let top: Vec<String> = outputs(paths)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let clean = |dir: &Path, owns: &dyn Fn(&str) -> bool| -> Result<()> {
        if dir.is_dir() {
            remove_orphan_temps(dir, owns).map_err(TrainError::io(dir))?;
        }
        Ok(())
    };
    clean(&paths.dir, &|name| top.iter().any(|t| t == name))?;
    clean(&paths.checkpoints(), &|name| {
        CHECKPOINT_NAMES
            .iter()
            .any(|n| name.starts_with(&format!("{n}-")) && name.ends_with(".mpk"))
    })?;
    clean(&paths.model(), &|_| true)
}
