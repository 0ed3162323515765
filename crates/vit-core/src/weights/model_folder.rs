//! Our own saved models: a folder with `model.json` (what to build, how to preprocess, class
//! names) and `model.bpk` (the weights in Burn's native Burnpack format, full precision). Both
//! are written atomically.
//!
//! Burnpack rather than a `Recorder`'s `.mpk`: loading a record built for another config panics
//! inside Burn (`Vec` length assert) or silently drops modules (`Option`), while burn-store checks
//! every tensor's path and shape and reports what does not fit.

use std::path::{Path, PathBuf};
use vit_ops::VitBackend;

use burn::module::Module;
use burn_store::{BurnpackStore, KeyRemapper, ModuleSnapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic_file::{write_atomic, write_atomic_with};
use crate::error::{Result, VitError};
use crate::precision::Precision;
use crate::preprocess::PretrainedCfg;
use crate::weights::cast::CastFloats;

/// File name of the description in a saved model folder.
pub const MODEL_CARD_FILE: &str = "model.json";
/// File name of the weights in a saved model folder.
pub const WEIGHTS_FILE: &str = "model.bpk";

/// Everything about a saved model except its weights.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Model family: `vit`, `deit` (a distilled ViT) or `swin`.
    pub family: String,
    /// The family's model config, as its config file holds it.
    pub config: Value,
    /// Preprocessing the weights expect.
    pub pretrained_cfg: PretrainedCfg,
    /// Class names, when known.
    #[serde(default)]
    pub label_names: Option<Vec<String>>,
    /// Where the weights came from (a timm architecture, a checkpoint path, a training run).
    #[serde(default)]
    pub source: Option<String>,
    /// The float type the weights are stored in (`bf16`/`f16` for a half-precision copy from
    /// `vit convert --dtype`); they are read back as f32 whatever it is.
    #[serde(default, skip_serializing_if = "is_f32")]
    pub weights_dtype: Precision,
}

fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

impl ModelCard {
    /// Whether `dir` holds a saved model of ours.
    pub fn is_model_folder(dir: &Path) -> bool {
        dir.join(MODEL_CARD_FILE).is_file()
    }

    /// Reads `dir/model.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MODEL_CARD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| VitError::File {
            path: path.clone(),
            message: format!("cannot read the model description: {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| VitError::File {
            path,
            message: format!("not a valid model description: {e}"),
        })
    }
}

/// Writes a model folder: the card and the weights, stored in the card's `weights_dtype`
/// (each file atomically; the folder is created).
pub fn save_model_folder<B: VitBackend, M: Module<B>>(
    dir: &Path,
    card: &ModelCard,
    model: M,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| VitError::File {
        path: dir.to_path_buf(),
        message: format!("cannot create the folder: {e}"),
    })?;
    save_weights(model, &dir.join(WEIGHTS_FILE), card.weights_dtype)?;
    let text = serde_json::to_string_pretty(card).expect("a model card always serialises");
    write_file(&dir.join(MODEL_CARD_FILE), format!("{text}\n").as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).map_err(|e| VitError::File {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    })
}

/// Saves a module's weights in Burn's native Burnpack format (burn-store), every float tensor
/// as `dtype`, atomically: the file is written beside the target and renamed over it.
pub fn save_weights<B: VitBackend, M: Module<B>>(
    model: M,
    path: &Path,
    dtype: Precision,
) -> Result<()> {
    let fail = |message: String| VitError::File {
        path: path.to_path_buf(),
        message,
    };
    write_atomic_with(path, |tmp| {
        let mut store = BurnpackStore::from_file(tmp)
            .auto_extension(false)
            .overwrite(true)
            .with_to_adapter(CastFloats::to(dtype));
        model
            .save_into(&mut store)
            .map_err(|e| WriteError(e.to_string()))
    })
    .map_err(|e: WriteError| fail(format!("cannot write the weights: {}", e.0)))
}

/// A failed weights write: the store's or the file system's message.
struct WriteError(String);

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}

/// Loads weights saved by [`save_weights`] into `model` (built from the matching config), as
/// f32 whatever type the file stores them in. A file
/// that is not such a file, or whose tensors do not fit the model (missing, surplus or of
/// another shape), is an error naming the file — the model is never half loaded.
pub fn load_weights<B: VitBackend, M: Module<B>>(model: M, path: &Path) -> Result<M> {
    let fail = |message: String| VitError::File {
        path: path.to_path_buf(),
        message,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    // Distilled DeiTs were a model of their own before they became a ViT option: their old
    // keys (`Deit.vit.blocks…`, `Deit.dist_token`) load into the ViT that replaced them.
    let legacy_deit = KeyRemapper::new()
        .add_pattern(r"^Deit\.vit\.", "Vit.")
        .and_then(|r| r.add_pattern(r"^Deit\.", "Vit."))
        .expect("valid patterns");
    // Whatever float type the file stores, the model's parameters are f32.
    let mut store = BurnpackStore::from_file(path)
        .auto_extension(false)
        .remap(legacy_deit)
        .with_from_adapter(CastFloats::to(Precision::F32));
    let mut model = model;
    let result = model.load_from(&mut store).map_err(|e| {
        fail(format!(
            "cannot load the weights ({e}); was the file saved for another model config?"
        ))
    })?;
    if !result.unused.is_empty() {
        return Err(fail(format!(
            "the file has tensors the model config does not build: {}; was it saved for another \
             model config?",
            result.unused.join(", ")
        )));
    }
    Ok(model)
}

/// The path of a saved folder's weights.
pub fn weights_path(dir: &Path) -> PathBuf {
    dir.join(WEIGHTS_FILE)
}

/// Whether `path` names a Burnpack weights file (`.bpk`) of ours.
pub fn is_burnpack(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("bpk"))
}
