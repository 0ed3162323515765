//! A timm model folder as timm's `save_for_hf` writes it and the Hugging Face hub serves it:
//! `config.json` (`architecture`, `num_classes`, `model_args`, `pretrained_cfg`, `label_names`)
//! beside `model.safetensors` or `pytorch_model.bin`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Result, VitError};
use crate::preprocess::PretrainedCfg;

/// The weights file names a timm folder may hold, in order of preference.
pub const TIMM_WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// A timm `config.json`: what to build and how inputs are preprocessed.
#[derive(Debug, Clone)]
pub struct TimmConfig {
    /// The file it was read from.
    pub path: PathBuf,
    /// timm architecture name without a pretrained tag, e.g. `vit_small_patch16_224`.
    pub architecture: String,
    /// Classifier size of the weights, when the config says.
    pub num_classes: Option<usize>,
    /// Arguments timm passes to the model constructor on top of the architecture's defaults.
    pub model_args: Map<String, Value>,
    /// Preprocessing of the weights.
    pub pretrained_cfg: PretrainedCfg,
    /// Class names, when the config has them.
    pub label_names: Option<Vec<String>>,
}

/// A parsed timm model folder: its config and its weights file.
#[derive(Debug, Clone)]
pub struct TimmFolder {
    /// The folder.
    pub dir: PathBuf,
    /// Its `config.json`.
    pub config: TimmConfig,
    /// The weights file.
    pub weights: PathBuf,
}

fn folder_error(path: &Path, message: String) -> VitError {
    VitError::ModelFolder {
        path: path.to_path_buf(),
        message,
    }
}

impl TimmConfig {
    /// Whether a parsed JSON document looks like a timm config (it names an architecture).
    pub fn is_timm_config(root: &Value) -> bool {
        root.get("architecture").is_some_and(Value::is_string)
    }

    /// Reads a timm `config.json`, with errors that name the file and the field at fault.
    pub fn read(config_path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(config_path).map_err(|e| {
            folder_error(
                config_path,
                format!("cannot read it ({e}); a timm model folder has config.json and weights"),
            )
        })?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| folder_error(config_path, format!("not valid JSON: {e}")))?;
        let Value::Object(mut root) = root else {
            return Err(folder_error(config_path, "expected a JSON object".into()));
        };
        let field_error = |field: &str, expected: &str| {
            folder_error(config_path, format!("`{field}`: expected {expected}"))
        };
        let architecture = match root.remove("architecture") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(field_error("architecture", "a string")),
            None => {
                return Err(field_error(
                    "architecture",
                    "a timm architecture name (e.g. \"vit_small_patch16_224\"); is this a timm folder?",
                ));
            }
        };
        // Hub names carry a pretrained tag (`vit_base_patch16_224.augreg2_in21k_ft_in1k`).
        let architecture = architecture
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        // Older configs keep the pretrained cfg at the top level (timm handles both forms).
        let mut pretrained = match root.remove("pretrained_cfg") {
            Some(Value::Object(cfg)) => cfg,
            Some(_) => return Err(field_error("pretrained_cfg", "an object")),
            None => root.clone(),
        };
        let num_classes = match root.get("num_classes").or(pretrained.get("num_classes")) {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .ok_or_else(|| field_error("num_classes", "a non-negative integer"))?
                    as usize,
            ),
        };
        let model_args = match root.remove("model_args") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(args)) => args,
            Some(_) => return Err(field_error("model_args", "an object")),
        };
        let labels = root
            .remove("label_names")
            .or_else(|| pretrained.remove("label_names"));
        let label_names = match labels {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                serde_json::from_value::<Vec<String>>(v)
                    .map_err(|_| field_error("label_names", "a list of strings"))?,
            ),
        };
        for key in ["architecture", "num_features", "global_pool", "model_args"] {
            pretrained.remove(key);
        }
        let pretrained_cfg: PretrainedCfg = serde_json::from_value(Value::Object(pretrained))
            .map_err(|e| folder_error(config_path, format!("`pretrained_cfg`: {e}")))?;
        if let Some(n) = num_classes
            && label_names.as_ref().is_some_and(|l| l.len() != n)
        {
            return Err(field_error(
                "label_names",
                &format!(
                    "{n} names (num_classes), found {}",
                    label_names.map_or(0, |l| l.len())
                ),
            ));
        }
        Ok(Self {
            path: config_path.to_path_buf(),
            architecture,
            num_classes,
            model_args,
            pretrained_cfg,
            label_names,
        })
    }
}

impl TimmFolder {
    /// The `config.json` of a folder.
    pub fn config_path(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }

    /// Reads a timm folder: its config and which weights file it holds.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(folder_error(dir, "not a directory".into()));
        }
        let config = TimmConfig::read(&Self::config_path(dir))?;
        let weights = TIMM_WEIGHT_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| {
                folder_error(
                    dir,
                    format!(
                        "no weights file: expected {}",
                        TIMM_WEIGHT_FILES.join(" or ")
                    ),
                )
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            weights,
        })
    }
}
