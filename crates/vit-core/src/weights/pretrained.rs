//! Loading and saving a model with everything that came with its weights, for any model family:
//! a timm folder, a folder we saved, or a bare weights file with a config. A family (ViT here;
//! the zoo of DeiT and Swin in vit-variants) supplies only what differs through [`ModelFamily`].

use std::path::Path;
use vit_ops::VitBackend;

use burn::module::Module;
use serde_json::Value;

use crate::error::{Result, VitError};
use crate::model::{ModelConfig, VisionModel};
use crate::precision::Precision;
use crate::preprocess::PretrainedCfg;
use crate::weights::checkpoint::{CheckpointFormat, LazyCheckpoint};
use crate::weights::hub_cache::{self, HubId};
use crate::weights::model_folder::{
    MODEL_CARD_FILE, ModelCard, is_burnpack, load_weights, save_model_folder, weights_path,
};
use crate::weights::state_dict::LoadReport;
use crate::weights::timm_folder::{TimmConfig, TimmFolder};

/// What a model config must provide, beyond [`ModelConfig`], to be built, loaded from files and
/// saved: the loaders of one family (ViT here; the zoo of ViT and Swin in vit-variants).
pub trait ModelFamily: ModelConfig + Sized + Clone {
    /// The model the config builds.
    type Model<B: VitBackend>: Module<B> + VisionModel<B>;
    /// The config of a saved card (`family` + `config` from `path`); other families are errors.
    fn from_card(family: &str, config: &Value, path: &Path) -> Result<Self>;
    /// A config file without a family (`configs/vit_*.json`: a plain ViT config).
    fn from_plain(text: &str, path: &Path) -> Result<Self>;
    /// The config timm would build from a timm `config.json`.
    fn from_timm(timm: &TimmConfig) -> Result<Self>;
    /// Builds the model with fresh weights.
    fn build<B: VitBackend>(&self, device: &B::Device) -> Result<Self::Model<B>>;
    /// Builds the model from a timm-layout checkpoint.
    fn load_checkpoint<B: VitBackend>(
        &self,
        checkpoint: LazyCheckpoint,
        device: &B::Device,
    ) -> Result<(Self::Model<B>, LoadReport)>;

    /// timm's `architecture` and `model_args` that build this config (for a timm folder that
    /// Python's `timm.create_model("local-dir:…", pretrained=True)` loads); an error names the
    /// field timm cannot express. By default no family can.
    fn timm_model_args(&self) -> Result<(String, Value)> {
        Err(VitError::Unsupported {
            operation: "export as a timm folder".into(),
            family: self.family().into(),
            reason: "this family has no timm mapping".into(),
        })
    }

    /// Rewrites the state dict (timm names of the model's modules) into the key layout of the
    /// timm class the config exports as; by default the names already are timm's.
    fn to_timm_layout(
        &self,
        _tensors: &mut std::collections::BTreeMap<String, burn::tensor::TensorData>,
    ) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Whether [`Self::to_timm_layout`] changes anything (the plain export path otherwise).
    fn has_timm_layout(&self) -> bool {
        false
    }
}

/// Reads a config file: `{"family": …, "config": …}` (also a saved `model.json`), a timm
/// `config.json`, or a plain config of the family.
pub fn load_config_file<C: ModelFamily>(path: &Path) -> Result<C> {
    let text = std::fs::read_to_string(path).map_err(|source| VitError::ConfigIo {
        path: path.to_path_buf(),
        source,
    })?;
    let root: Value = serde_json::from_str(&text).map_err(|e| VitError::ConfigParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if TimmConfig::is_timm_config(&root) {
        return C::from_timm(&TimmConfig::read(path)?);
    }
    match (root.get("family"), root.get("config")) {
        (Some(Value::String(family)), Some(config)) => C::from_card(family, config, path),
        _ => C::from_plain(&text, path),
    }
}

/// A model with everything that came with its weights.
#[derive(Debug)]
pub struct Pretrained<C: ModelFamily, B: VitBackend> {
    /// The model, weights loaded.
    pub model: C::Model<B>,
    /// The config it was built from.
    pub config: C,
    /// How inputs must be preprocessed.
    pub pretrained_cfg: PretrainedCfg,
    /// Class names, when known.
    pub label_names: Option<Vec<String>>,
    /// What the load adapted, left fresh or ignored.
    pub report: LoadReport,
    /// Where the weights came from.
    pub source: String,
}

impl<C: ModelFamily, B: VitBackend> Pretrained<C, B> {
    /// Saves as a folder of ours (`model.json` + `model.bpk`, f32), atomically.
    pub fn save(self, dir: &Path) -> Result<()> {
        self.save_as(dir, Precision::F32)
    }

    /// [`Self::save`] with the weights stored as `dtype` (bf16/f16: a half-size copy for
    /// inference; loading reads it back as f32).
    pub fn save_as(self, dir: &Path, dtype: Precision) -> Result<()> {
        let card = ModelCard {
            family: self.config.family().into(),
            config: self.config.card_config(),
            pretrained_cfg: self.pretrained_cfg,
            label_names: self.label_names,
            source: Some(self.source),
            weights_dtype: dtype,
        };
        save_model_folder(dir, &card, self.model)
    }

    /// Writes the model as a timm / Hugging Face hub folder in `dir`: `config.json`
    /// (`architecture`, `model_args`, `pretrained_cfg`, `label_names`) and `model.safetensors`
    /// with timm's key names and layouts — what `timm.create_model("local-dir:DIR",
    /// pretrained=True)` loads, and what the hub serves. Files are written atomically.
    pub fn save_timm(&self, dir: &Path) -> Result<()> {
        self.save_timm_as(dir, Precision::F32)
    }

    /// [`Self::save_timm`] with the weights stored as `dtype` (timm loads a bf16/f16
    /// `model.safetensors` into its f32 model).
    pub fn save_timm_as(&self, dir: &Path, dtype: Precision) -> Result<()> {
        let (architecture, model_args) = self.config.timm_model_args()?;
        let num_classes = self.config.num_classes();
        let mut pretrained_cfg =
            serde_json::to_value(&self.pretrained_cfg).expect("a pretrained_cfg serialises");
        pretrained_cfg["num_classes"] = num_classes.into();
        let mut config = serde_json::json!({
            "architecture": architecture,
            "num_classes": num_classes,
            "num_features": self.model.num_features(),
            "global_pool": model_args.get("global_pool").cloned().unwrap_or("avg".into()),
            "model_args": model_args,
            "pretrained_cfg": pretrained_cfg,
        });
        if let Some(names) = &self.label_names {
            config["label_names"] = serde_json::json!(names);
        }
        let layout = |tensors: &mut std::collections::BTreeMap<
            String,
            burn::tensor::TensorData,
        >| { self.config.to_timm_layout(tensors) };
        let layout: Option<crate::weights::timm_export::StateDictLayout<'_>> =
            self.config.has_timm_layout().then_some(&layout);
        crate::weights::timm_export::write_timm_folder_with(
            dir,
            &config,
            &self.model,
            dtype,
            layout,
        )
    }

    /// Replaces the classifier by a fresh one when `num_classes` asks for another size.
    fn set_num_classes(&mut self, num_classes: Option<usize>, device: &B::Device) {
        let Some(n) = num_classes.filter(|n| *n != self.config.num_classes()) else {
            return;
        };
        self.config.set_num_classes(n);
        self.label_names = None;
        self.report.fresh = self.model.reset_classifier(n, device);
    }
}

/// What a model path is, with the architecture it names: the one place that tells a saved
/// folder, a timm folder and a bare weights file apart.
enum Source<C> {
    /// A folder written by [`Pretrained::save`].
    Saved(ModelCard, C),
    /// A timm / Hugging Face folder.
    Timm(TimmFolder, C),
    /// A bare weights file, built as `base`.
    Bare(C),
}

impl<C: ModelFamily> Source<C> {
    fn open(path: &Path, base: Option<C>) -> Result<Self> {
        if path.is_dir() {
            if base.is_some() {
                return Err(VitError::ModelFolder {
                    path: path.to_path_buf(),
                    message: "a model folder describes its own architecture; a preset or config \
                              file is only for bare weight files"
                        .into(),
                });
            }
            if ModelCard::is_model_folder(path) {
                let card = ModelCard::read(path)?;
                let config = C::from_card(&card.family, &card.config, &path.join(MODEL_CARD_FILE))?;
                return Ok(Self::Saved(card, config));
            }
            let folder = TimmFolder::open(path)?;
            let config = C::from_timm(&folder.config)?;
            return Ok(Self::Timm(folder, config));
        }
        if !path.exists()
            && let Some(id) = hub_candidate(path)
        {
            // A hub id: the snapshot in the Python hub client's cache.
            return Self::open(&hub_cache::resolve(&id)?, base);
        }
        if !path.exists() {
            let hint = if !path.is_absolute() && path.components().count() <= 2 {
                " (nor a hub id `org/name` or a timm name `architecture.tag`; see `vit models \
                 --pretrained`)"
            } else {
                ""
            };
            return Err(VitError::Checkpoint {
                path: path.to_path_buf(),
                message: format!("no such file or folder{hint}"),
            });
        }
        base.map(Self::Bare).ok_or_else(|| VitError::Checkpoint {
            path: path.to_path_buf(),
            message: "a bare weights file does not say which model it is: give a preset or a \
                      config file (or the model folder it came in)"
                .into(),
        })
    }
}

/// `path` read as a hub id: always with the `hf-hub:` prefix; a bare `org/name` only when it
/// does not look like a missing local file (a weights or config extension, or a folder that
/// exists here) — a mistyped path must not become a download.
fn hub_candidate(path: &Path) -> Option<HubId> {
    let text = path.to_str()?;
    let id = HubId::parse(text)?;
    if text.starts_with("hf-hub:") {
        return Some(id);
    }
    const FILE_EXTENSIONS: [&str; 9] = [
        "safetensors",
        "bin",
        "pth",
        "pt",
        "bpk",
        "mpk",
        "json",
        "npy",
        "ckpt",
    ];
    let file_like = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| FILE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    let local_folder = path
        .parent()
        .is_some_and(|p| !p.as_os_str().is_empty() && p.is_dir());
    (!file_like && !local_folder).then_some(id)
}

/// The architecture [`Pretrained::load`] would build for `path`, without reading any weights.
pub fn read_architecture<C: ModelFamily>(path: &Path, base: Option<C>) -> Result<C> {
    Ok(match Source::open(path, base)? {
        Source::Saved(_, config) | Source::Timm(_, config) | Source::Bare(config) => config,
    })
}

impl<C: ModelFamily, B: VitBackend> Pretrained<C, B> {
    /// Loads a model from `path`:
    /// - a timm folder (`config.json` + `model.safetensors`/`pytorch_model.bin`);
    /// - a folder we saved (`model.json` + `model.bpk`);
    /// - a hub id (`hf-hub:org/name[@rev]`, `org/name[@rev]`): the snapshot in the Hugging Face
    ///   cache (timm names such as `architecture.tag` are resolved to hub ids by the catalogue,
    ///   `vit_variants::catalogue`, before they reach here);
    /// - a bare `.safetensors`/`.pth`/`.bin` checkpoint or `.bpk` file of ours, built from `base`
    ///   (a preset or config file), which is required then.
    ///
    /// `num_classes`, when given and different from the weights', gets fresh classifier(s)
    /// (fine-tuning); the report says so.
    pub fn load(
        path: &Path,
        base: Option<C>,
        num_classes: Option<usize>,
        device: &B::Device,
    ) -> Result<Self> {
        let mut config = match Source::open(path, base)? {
            Source::Saved(card, config) => {
                return load_saved(path, card, config, num_classes, device);
            }
            Source::Timm(folder, config) => {
                return load_timm_folder(path, folder, config, num_classes, device);
            }
            Source::Bare(config) => config,
        };
        let pretrained_cfg = config.default_pretrained_cfg();
        let source = path.display().to_string();
        if is_burnpack(path) {
            let model = load_weights(config.build::<B>(device)?, path)?;
            let mut loaded = Pretrained {
                model,
                config,
                pretrained_cfg,
                label_names: None,
                report: LoadReport::default(),
                source,
            };
            loaded.set_num_classes(num_classes, device);
            return Ok(loaded);
        }
        CheckpointFormat::of(path)?;
        if let Some(n) = num_classes {
            config.set_num_classes(n);
        }
        let (model, report) = config.load_checkpoint(LazyCheckpoint::open(path)?, device)?;
        Ok(Pretrained {
            model,
            config,
            pretrained_cfg,
            label_names: None,
            report,
            source,
        })
    }
}

/// Loads a folder written by [`Pretrained::save`].
fn load_saved<C: ModelFamily, B: VitBackend>(
    dir: &Path,
    card: ModelCard,
    config: C,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<Pretrained<C, B>> {
    let model = load_weights(config.build::<B>(device)?, &weights_path(dir))?;
    let report = LoadReport {
        loaded: crate::weights::state_dict::torch_params(&model).len(),
        ..LoadReport::default()
    };
    let mut loaded = Pretrained {
        model,
        config,
        pretrained_cfg: card.pretrained_cfg,
        label_names: card.label_names,
        report,
        source: card.source.unwrap_or_else(|| dir.display().to_string()),
    };
    loaded.set_num_classes(num_classes, device);
    Ok(loaded)
}

/// Loads a timm folder: the architecture's config, the folder's class count (or `num_classes` for
/// a new head), then the weights.
fn load_timm_folder<C: ModelFamily, B: VitBackend>(
    dir: &Path,
    folder: TimmFolder,
    mut config: C,
    num_classes: Option<usize>,
    device: &B::Device,
) -> Result<Pretrained<C, B>> {
    let mut label_names = folder.config.label_names.clone();
    if let Some(n) = num_classes.filter(|n| *n != config.num_classes()) {
        config.set_num_classes(n);
        label_names = None;
    }
    let (model, report) = config.load_checkpoint(LazyCheckpoint::open(&folder.weights)?, device)?;
    Ok(Pretrained {
        model,
        config,
        pretrained_cfg: folder.config.pretrained_cfg,
        label_names,
        report,
        source: format!("timm {} ({})", folder.config.architecture, dir.display()),
    })
}
