//! The way back to Python: a model as a timm / Hugging Face hub folder (`config.json` +
//! `model.safetensors` with timm's key names and PyTorch layouts: `Linear` weights `[out, in]`,
//! LayerNorm `weight`/`bias`), written by burn-store's Burn → PyTorch adapter.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{DType, TensorData};
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

/// A family's rewrite of the state dict (timm names, PyTorch layouts) into the layout of the
/// timm class it exports as (timm's `Eva` names its LayerScale `gamma_1`, …).
pub type StateDictLayout<'a> =
    &'a dyn Fn(&mut BTreeMap<String, TensorData>) -> std::result::Result<(), String>;

/// The model's state dict as timm names and lays it out, every float tensor as `dtype`, then
/// rewritten by `layout`, serialised as safetensors.
pub fn timm_safetensors_with<B: VitBackend, M: Module<B> + Clone>(
    model: &M,
    dtype: Precision,
    layout: StateDictLayout<'_>,
) -> Result<Vec<u8>> {
    let failed = |reason: String| VitError::Unsupported {
        operation: "export as a timm folder".into(),
        family: "model".into(),
        reason,
    };
    let adapter = BurnToPyTorchAdapter.chain(CastFloats::to(dtype));
    let mut tensors = BTreeMap::new();
    for snapshot in model.collect(None, Some(Box::new(adapter)), true) {
        let data = snapshot
            .to_data()
            .map_err(|e| failed(format!("{}: {e:?}", snapshot.full_path())))?;
        tensors.insert(snapshot.full_path(), data);
    }
    layout(&mut tensors).map_err(failed)?;
    add_batch_norm_counters(&mut tensors);
    safetensors_bytes(&tensors).map_err(failed)
}

/// PyTorch's BatchNorm keeps a step counter beside its running statistics, and a strict
/// `load_state_dict` wants it: a zero `num_batches_tracked` (an `int64` scalar) beside every
/// `running_mean` (the count plays no part at inference, so none is kept while loading).
pub fn add_batch_norm_counters(tensors: &mut BTreeMap<String, TensorData>) {
    let counters: Vec<String> = tensors
        .keys()
        .filter_map(|k| k.strip_suffix(".running_mean"))
        .map(|prefix| format!("{prefix}.num_batches_tracked"))
        .collect();
    for key in counters {
        tensors
            .entry(key)
            .or_insert_with(|| TensorData::new(vec![0i64], Vec::<usize>::new()));
    }
}

/// `tensors` in the safetensors format (header sorted by key, `format: pt` metadata).
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, TensorData>,
) -> std::result::Result<Vec<u8>, String> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut offset = 0usize;
    for (key, data) in tensors {
        let dtype = match data.dtype {
            DType::F32 => "F32",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F64 => "F64",
            DType::I64 => "I64",
            other => return Err(format!("{key}: cannot write a {other:?} tensor")),
        };
        let len = data.as_bytes().len();
        header.insert(
            key.clone(),
            serde_json::json!({"dtype": dtype, "shape": data.shape.to_vec(), "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let mut text = Value::Object(header).to_string().into_bytes();
    // The data starts 8-byte aligned, as the format asks.
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + offset);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    for data in tensors.values() {
        out.extend_from_slice(data.as_bytes());
    }
    Ok(out)
}

/// Writes `config` as `dir/config.json` and the model's weights as `dir/model.safetensors`
/// (the folder is created; each file written beside its target and renamed over it).
pub fn write_timm_folder<B: VitBackend, M: Module<B> + Clone>(
    dir: &Path,
    config: &Value,
    model: &M,
    dtype: Precision,
) -> Result<()> {
    write_timm_folder_with(dir, config, model, dtype, None)
}

/// [`write_timm_folder`] with the state dict rewritten by `layout` first.
pub fn write_timm_folder_with<B: VitBackend, M: Module<B> + Clone>(
    dir: &Path,
    config: &Value,
    model: &M,
    dtype: Precision,
    layout: Option<StateDictLayout<'_>>,
) -> Result<()> {
    let weights = match layout {
        Some(layout) => timm_safetensors_with(model, dtype, layout)?,
        None => timm_safetensors(model, dtype)?,
    };
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
