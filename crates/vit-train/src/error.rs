//! What training can fail with, by concern; every message names the file, field or folder at
//! fault and what was expected.

use std::path::PathBuf;

use vit_core::VitError;

/// A training error.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A model could not be built, loaded or saved (the message names the file or field).
    #[error(transparent)]
    Model(#[from] VitError),
    /// A model named by a config field could not be loaded: `field` says which.
    #[error("{field}: {source}")]
    ModelField {
        /// The config field that names the model (`init.from`, `distillation.teacher`, …).
        field: &'static str,
        /// Why it failed.
        source: VitError,
    },
    /// The training config (or a `--set` override) has a value training cannot run with.
    #[error("{0}")]
    Config(String),
    /// A data set cannot be read or does not fit the model.
    #[error("{0}")]
    Data(String),
    /// The run folder's state forbids the request (a run is already there, nothing to resume,
    /// the run stopped early) or its files cannot be read or written.
    #[error("{0}")]
    Run(String),
    /// A file of the run cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl TrainError {
    /// A [`TrainError::ModelField`] maker, for `map_err`.
    pub fn model_field(field: &'static str) -> impl Fn(VitError) -> Self {
        move |source| Self::ModelField { field, source }
    }

    /// A [`TrainError::Io`] maker for `path`, for `map_err`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// A result whose error is a [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
