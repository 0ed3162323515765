//! Our own saved models: a folder with `model.json` (what to build, how to preprocess, class
//! names) and `model.mpk` (the weights as a Burn record, `NamedMpkFileRecorder`'s format, full
//! precision). Both are written atomically.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config_file::write_atomic;
use crate::error::{Result, VitError};
use crate::state_dict::torch_params;
use crate::timm_folder::PretrainedCfg;

/// File name of the description in a saved model folder.
pub const MODEL_CARD_FILE: &str = "model.json";
/// File name of the weights in a saved model folder.
pub const RECORD_FILE: &str = "model.mpk";

/// Everything about a saved model except its weights.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Model family: `vit` (and later `deit`, `swin`).
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

/// Writes a model folder: the card and the weights (each atomically; the folder is created).
pub fn save_model_folder<B: Backend, M: Module<B>>(
    dir: &Path,
    card: &ModelCard,
    model: M,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| VitError::File {
        path: dir.to_path_buf(),
        message: format!("cannot create the folder: {e}"),
    })?;
    save_record(model, &dir.join(RECORD_FILE))?;
    let text = serde_json::to_string_pretty(card).expect("a model card always serialises");
    write_file(&dir.join(MODEL_CARD_FILE), format!("{text}\n").as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).map_err(|e| VitError::File {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    })
}

/// Saves a module's weights as a Burn record (named MessagePack, full precision), atomically.
pub fn save_record<B: Backend, M: Module<B>>(model: M, path: &Path) -> Result<()> {
    let bytes = NamedMpkBytesRecorder::<FullPrecisionSettings>::default()
        .record(model.into_record(), ())
        .map_err(|e| VitError::File {
            path: path.to_path_buf(),
            message: format!("cannot encode the weights: {e}"),
        })?;
    write_file(path, &bytes)
}

/// Loads weights saved by [`save_record`] into `model` (built from the matching config). A file
/// that is not such a record, or whose tensors have other shapes than the model's, is an error
/// naming the file — the model is never half loaded.
pub fn load_record<B: Backend, M: Module<B>>(
    model: M,
    path: &Path,
    device: &B::Device,
) -> Result<M> {
    let fail = |message: String| VitError::File {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read the weights: {e}")))?;
    let expected = torch_params(&model);
    let record = NamedMpkBytesRecorder::<FullPrecisionSettings>::default()
        .load::<M::Record>(bytes, device)
        .map_err(|e| {
            fail(format!(
                "not a Burn record of this model ({e}); was it saved for another config?"
            ))
        })?;
    let model = model.load_record(record);
    let found = torch_params(&model);
    let wrong: Vec<String> = expected
        .iter()
        .zip(&found)
        .filter(|(e, f)| e.shape != f.shape)
        .map(|(e, f)| format!("{}: expected {:?}, found {:?}", e.key, e.shape, f.shape))
        .collect();
    if !wrong.is_empty() {
        return Err(fail(format!(
            "the record's tensors do not fit the model config:\n  {}",
            wrong.join("\n  ")
        )));
    }
    Ok(model)
}

/// The path of a saved folder's weights.
pub fn record_path(dir: &Path) -> PathBuf {
    dir.join(RECORD_FILE)
}
