//! The one error type of vit-core: every message names the field, file or size at fault.

use std::path::PathBuf;

/// Everything that can go wrong when building or running a vit-core model from user input.
#[derive(Debug, thiserror::Error)]
pub enum VitError {
    /// An image side does not split into whole patches.
    #[error(
        "image {side} {size} is not divisible by the patch size {patch_size}: \
         use a side that is a multiple of {patch_size} (e.g. {suggestion})"
    )]
    NotDivisible {
        /// `"height"` or `"width"`.
        side: &'static str,
        /// The offending image side in pixels.
        size: usize,
        /// The patch size it should be a multiple of.
        patch_size: usize,
        /// The nearest multiple, as a hint.
        suggestion: usize,
    },
    /// The input tensor does not have the shape the model was built for.
    #[error("input has shape {found:?}, but the model expects {expected}")]
    InputShape {
        /// Human-readable description of what was expected, e.g. `[batch, 3, 224, 224]`.
        expected: String,
        /// The shape that was given.
        found: Vec<usize>,
    },
    /// A configuration field holds a value the model cannot be built with.
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// The field's name as it appears in the config file.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigIo {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A config file is not valid JSON or has a field of the wrong type.
    #[error("config file {path} is not a valid model config: {message}")]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A config file has fields this version does not know (typos are never silently ignored).
    #[error("config file {path} has unknown field(s): {}; known fields are: {}", fields.join(", "), known.join(", "))]
    UnknownFields {
        /// The file.
        path: PathBuf,
        /// Dotted paths of the unknown fields.
        fields: Vec<String>,
        /// The field names accepted at the top level.
        known: Vec<String>,
    },
    /// A preset name that does not exist.
    #[error("unknown model preset `{name}`; closest of the {} presets: {}", available.len(), crate::names::closest(name, available, 3).join(", "))]
    UnknownPreset {
        /// The name that was asked for.
        name: String,
        /// Every preset name.
        available: Vec<String>,
    },
    /// A timm model name (`architecture.tag`) that names no published weights.
    #[error("pretrained model `{name}`: {reason}")]
    UnknownPretrained {
        /// The name that was asked for.
        name: String,
        /// What is wrong, with the closest names.
        reason: String,
    },
    /// A weights file could not be read: missing, truncated, corrupt, or not a checkpoint.
    #[error("cannot read weights file {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A Hugging Face Hub repository could not be found, reached or downloaded.
    #[error("hub repository {repository}: {message}")]
    Hub {
        /// `org/name@revision`.
        repository: String,
        /// What went wrong, and what to do.
        message: String,
    },
    /// A checkpoint's tensors do not fit the model (missing, unexpected or mis-shaped keys).
    #[error("{0}")]
    WeightsMismatch(Box<crate::weights::state_dict::WeightsMismatch>),
    /// A model folder (timm / Hugging Face layout, or ours) is incomplete or malformed.
    #[error("model folder {path}: {message}")]
    ModelFolder {
        /// The folder or the file inside it at fault.
        path: PathBuf,
        /// What is missing or wrong, and what was expected.
        message: String,
    },
    /// A timm architecture name with no preset here.
    #[error("unknown architecture `{name}` in {path}; closest of the {} known: {}", available.len(), crate::names::closest(name, available, 3).join(", "))]
    UnknownArchitecture {
        /// The name as the file gives it.
        name: String,
        /// The file that names it.
        path: PathBuf,
        /// Every architecture that can be loaded.
        available: Vec<String>,
    },
    /// A catalogued timm architecture that needs an argument vit-core does not support yet.
    #[error(
        "architecture `{architecture}` needs timm's `{arg}`, which vit-core cannot build yet: {reason}"
    )]
    UnsupportedArchitecture {
        /// timm's architecture name.
        architecture: String,
        /// The timm argument at fault.
        arg: String,
        /// What value it has and what is supported.
        reason: String,
    },
    /// A timm `model_args` entry this implementation cannot honour.
    #[error("{path}: model_args.{arg}: {reason}")]
    ModelArg {
        /// The config file.
        path: PathBuf,
        /// The timm argument name.
        arg: String,
        /// What value was found and what is supported.
        reason: String,
    },
    /// The model family has no such thing (e.g. a class-token attention map of a Swin).
    #[error("{operation} is not available for {family} models: {reason}")]
    Unsupported {
        /// What was asked for.
        operation: String,
        /// The model family (`vit`, `deit`, `swin`).
        family: String,
        /// Why, and what would work.
        reason: String,
    },
    /// Feature indices (`forward_intermediates`, feature extraction) that the model cannot give.
    #[error("feature indices {asked}: {reason}")]
    FeatureIndices {
        /// The indices as asked (e.g. `[0, 7]`, `last 5`).
        asked: String,
        /// What is wrong and what the model has.
        reason: String,
    },
    /// Writing or reading one of our own files (model record, config) failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Result alias for vit-core.
pub type Result<T, E = VitError> = std::result::Result<T, E>;
