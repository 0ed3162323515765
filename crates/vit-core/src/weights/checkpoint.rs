//! Reading a PyTorch-world checkpoint (`.safetensors`, or a `torch.save` pickle `.pth`/`.pt`/`.bin`)
//! into named `f32` tensors, through burn-store's readers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{DType, TensorData};
use burn_store::{ModuleStore, PytorchStore, SafetensorsStore, TensorSnapshot};

use crate::error::{Result, VitError};

/// The file formats a checkpoint can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// Hugging Face safetensors (`.safetensors`).
    Safetensors,
    /// A `torch.save` file (`.pth`, `.pt`, `.bin`, `.ckpt`): zip or legacy pickle.
    Pytorch,
}

impl CheckpointFormat {
    /// The format a file name implies, or the error naming the accepted extensions.
    pub fn of(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("safetensors") => Ok(Self::Safetensors),
            Some("pth" | "pt" | "bin" | "ckpt") => Ok(Self::Pytorch),
            _ => Err(VitError::Checkpoint {
                path: path.to_path_buf(),
                message: "unknown weights format: expected a .safetensors file or a PyTorch \
                          .pth/.pt/.bin/.ckpt file"
                    .into(),
            }),
        }
    }
}

/// Dicts training scripts wrap a state dict in (`{"state_dict": …}`, `{"model": …, "optimizer": …}`),
/// in timm's order of preference.
const WRAPPER_KEYS: [&str; 2] = ["state_dict.", "model."];

/// The prefix DataParallel/DistributedDataParallel put on every key.
const DATA_PARALLEL_PREFIX: &str = "module.";

/// A checkpoint's tensors by key, as `f32`, in PyTorch layout.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The file they came from (for error messages).
    pub path: PathBuf,
    /// Key → tensor.
    pub tensors: BTreeMap<String, TensorData>,
}

impl Checkpoint {
    /// Reads every tensor of `path`. A missing, truncated or corrupt file, or one that is not a
    /// state dict, is an error naming the file. Integer tensors become float32 too. Keys wrapped as `state_dict.`/`model.`/`module.`
    /// (by training scripts or DataParallel) are unwrapped; float16/bfloat16/float64 become float32.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let format = CheckpointFormat::of(path)?;
        let fail = |message: String| VitError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        if !path.is_file() {
            return Err(fail("no such file".into()));
        }
        let snapshots = match format {
            CheckpointFormat::Safetensors => {
                let mut store = SafetensorsStore::from_file(path);
                store
                    .get_all_snapshots()
                    .map_err(|e| fail(e.to_string()))?
                    .clone()
            }
            CheckpointFormat::Pytorch => {
                let mut store = PytorchStore::from_file(path);
                store
                    .get_all_snapshots()
                    .map_err(|e| fail(e.to_string()))?
                    .clone()
            }
        };
        if snapshots.is_empty() {
            return Err(fail("the file holds no tensors".into()));
        }
        let mut tensors = BTreeMap::new();
        for (key, snapshot) in snapshots {
            tensors.insert(key.clone(), to_f32(&key, &snapshot).map_err(fail)?);
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors: unwrap_keys(tensors),
        })
    }

    /// Removes and returns a tensor.
    pub fn take(&mut self, key: &str) -> Option<TensorData> {
        self.tensors.remove(key)
    }
}

fn to_f32(key: &str, snapshot: &TensorSnapshot) -> std::result::Result<TensorData, String> {
    let data = snapshot
        .to_data()
        .map_err(|e| format!("tensor `{key}`: {e}"))?;
    let expected: usize = data.shape.iter().product::<usize>() * data.dtype.size();
    if data.bytes.len() != expected {
        return Err(format!(
            "tensor `{key}`: {} bytes of data for shape {:?} ({:?}), expected {expected}",
            data.bytes.len(),
            data.shape,
            data.dtype
        ));
    }
    match data.dtype {
        DType::F32 => Ok(data),
        // Integer buffers (e.g. Swin's `relative_position_index`) come along as floats; a model
        // that has no place for them reports them as unexpected or ignores them by name.
        DType::F16
        | DType::BF16
        | DType::F64
        | DType::I64
        | DType::I32
        | DType::I16
        | DType::I8
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64 => Ok(data.convert::<f32>()),
        other => Err(format!(
            "tensor `{key}` has dtype {other:?}; weights must be numbers"
        )),
    }
}

/// Keeps only the wrapped state dict when there is one and strips DataParallel's prefix.
fn unwrap_keys(tensors: BTreeMap<String, TensorData>) -> BTreeMap<String, TensorData> {
    let strip = |tensors: BTreeMap<String, TensorData>, prefix: &str| {
        tensors
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_string(), v)))
            .collect::<BTreeMap<_, _>>()
    };
    let mut tensors = tensors;
    if let Some(wrapper) = WRAPPER_KEYS
        .iter()
        .find(|w| tensors.keys().any(|k| k.starts_with(*w)))
    {
        tensors = strip(tensors, wrapper);
    }
    if tensors.keys().all(|k| k.starts_with(DATA_PARALLEL_PREFIX)) {
        tensors = strip(tensors, DATA_PARALLEL_PREFIX);
    }
    tensors
}
