//! The way back to Python: a model as a timm / Hugging Face hub folder (`config.json` +
//! `model.safetensors` with timm's key names and PyTorch layouts: `Linear` weights `[out, in]`,
//! LayerNorm `weight`/`bias`), written by burn-store's Burn → PyTorch adapter.

use std::path::Path;

use burn::module::Module;
use burn_store::{BurnToPyTorchAdapter, ModuleAdapter, ModuleSnapshot, SafetensorsStore};
use serde_json::Value;
use vit_ops::VitBackend;

use crate::atomic_file::write_atomic;
use crate::error::{Result, VitError};
use crate::precision::Precision;
use crate::weights::cast::CastFloats;

/// The model's state dict as timm names and lays it out, every float tensor as `dtype`,
/// serialised as safetensors.
pub fn timm_safetensors<B: VitBackend, M: Module<B> + Clone>(
    model: &M,
    dtype: Precision,
) -> Result<Vec<u8>> {
    let failed = |e: &dyn std::fmt::Display| VitError::Unsupported {
        operation: "export as a timm folder".into(),
        family: "model".into(),
        reason: e.to_string(),
    };
    let mut store = SafetensorsStore::from_bytes(None)
        .with_to_adapter(BurnToPyTorchAdapter.chain(CastFloats::to(dtype)))
        .skip_enum_variants(true)
        .metadata("format", "pt");
    model
        .clone()
        .save_into(&mut store)
        .map_err(|e| failed(&e))?;
    store.get_bytes().map_err(|e| failed(&e))
}

/// Writes `config` as `dir/config.json` and the model's weights as `dir/model.safetensors`
/// (the folder is created; each file written beside its target and renamed over it).
pub fn write_timm_folder<B: VitBackend, M: Module<B> + Clone>(
    dir: &Path,
    config: &Value,
    model: &M,
    dtype: Precision,
) -> Result<()> {
    let weights = timm_safetensors(model, dtype)?;
    std::fs::create_dir_all(dir).map_err(|e| VitError::File {
        path: dir.to_path_buf(),
        message: format!("cannot create the folder: {e}"),
    })?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        write_atomic(&path, bytes).map_err(|e| VitError::File {
            path: path.clone(),
            message: format!("cannot write: {e}"),
        })
    };
    write("model.safetensors", &weights)?;
    let text = serde_json::to_string_pretty(config).expect("a config serialises");
    write("config.json", format!("{text}\n").as_bytes())
}
