//! Reading a PyTorch-world checkpoint (`.safetensors`, or a `torch.save` pickle `.pth`/`.pt`/`.bin`)
//! into named `f32` tensors, through burn-store's readers — eagerly ([`Checkpoint`]) or tensor by
//! tensor ([`LazyCheckpoint`], what model loading uses: a 2.7 B-parameter model then needs its
//! own weights in memory, not the file's copy of them too).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::ParamId;
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

/// One tensor of a checkpoint: its shape known up front, its values read from the file (a
/// memory map for safetensors) and converted to `f32` only when asked for.
#[derive(Clone)]
pub struct Weight {
    key: String,
    snapshot: TensorSnapshot,
}

impl std::fmt::Debug for Weight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Weight({} {:?} {:?})",
            self.key,
            self.shape(),
            self.snapshot.dtype
        )
    }
}

impl Weight {
    /// A weight already in memory (an adapted tensor).
    pub fn from_data(key: &str, data: TensorData) -> Self {
        let snapshot = TensorSnapshot::from_data(data, Vec::new(), Vec::new(), ParamId::new());
        Self {
            key: key.to_string(),
            snapshot,
        }
    }

    /// Shape in PyTorch's layout, read from the file's header.
    pub fn shape(&self) -> &[usize] {
        self.snapshot.shape.as_slice()
    }

    /// Bytes the values take as `f32`.
    pub fn f32_bytes(&self) -> u64 {
        self.shape().iter().map(|&d| d as u64).product::<u64>() * 4
    }

    /// The values as `f32` (read now); a truncated or mis-sized tensor is an error naming it.
    pub fn data(&self) -> std::result::Result<TensorData, String> {
        to_f32(&self.key, &self.snapshot)
    }

    /// A snapshot that reads and converts the values when burn-store applies it to `path`.
    pub(crate) fn into_snapshot(self, path: Vec<String>) -> TensorSnapshot {
        let shape = self.snapshot.shape.clone();
        let Weight { key, snapshot } = self;
        let read = std::rc::Rc::new(move || {
            to_f32(&key, &snapshot).map_err(burn_store::TensorSnapshotError::DataError)
        });
        TensorSnapshot::from_closure(read, DType::F32, shape, path, Vec::new(), ParamId::new())
    }
}

/// A checkpoint opened for reading tensor by tensor: keys and shapes now, values on demand.
#[derive(Debug, Clone)]
pub struct LazyCheckpoint {
    /// The file they come from (for error messages).
    pub path: PathBuf,
    /// Key → tensor (unwrapped as [`Checkpoint::read`] unwraps them).
    pub tensors: BTreeMap<String, Weight>,
}

impl LazyCheckpoint {
    /// Opens `path` and reads its header: missing files, unknown formats, files that are not a
    /// state dict and tensors of a non-numeric type are errors naming the file; the values are
    /// read later, one tensor at a time.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
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
        // Declared shapes are untrusted: a tensor cannot hold more bytes than the file, so one
        // that claims to is refused before anything is allocated for it.
        let file_bytes = std::fs::metadata(path)
            .map_err(|e| fail(format!("cannot read: {e}")))?
            .len();
        let mut tensors = BTreeMap::new();
        for (key, snapshot) in snapshots {
            if !is_numeric(snapshot.dtype) {
                return Err(fail(format!(
                    "tensor `{key}` has dtype {:?}; weights must be numbers",
                    snapshot.dtype
                )));
            }
            let declared = snapshot
                .shape
                .iter()
                .try_fold(snapshot.dtype.size() as u64, |n, &d| {
                    n.checked_mul(d as u64)
                });
            if declared.is_none_or(|n| n > file_bytes) {
                return Err(fail(format!(
                    "tensor `{key}` declares shape {:?} ({:?}): more bytes than the whole file \
                     ({file_bytes}); the file is corrupt or not a checkpoint",
                    snapshot.shape.as_slice(),
                    snapshot.dtype
                )));
            }
            tensors.insert(key.clone(), Weight { key, snapshot });
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors: unwrap_keys(tensors),
        })
    }

    /// Every tensor read now (as [`Checkpoint::read`]).
    pub fn read_all(self) -> Result<Checkpoint> {
        let fail = |message: String| VitError::Checkpoint {
            path: self.path.clone(),
            message,
        };
        let mut tensors = BTreeMap::new();
        for (key, weight) in &self.tensors {
            tensors.insert(key.clone(), weight.data().map_err(fail)?);
        }
        Ok(Checkpoint {
            path: self.path.clone(),
            tensors,
        })
    }

    /// The largest tensor as `f32` bytes: what loading holds besides the model.
    pub fn largest_f32_bytes(&self) -> u64 {
        self.tensors
            .values()
            .map(Weight::f32_bytes)
            .max()
            .unwrap_or(0)
    }
}

/// Whether a tensor of `dtype` can become `f32` weights.
fn is_numeric(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::F32
            | DType::F16
            | DType::BF16
            | DType::F64
            | DType::I64
            | DType::I32
            | DType::I16
            | DType::I8
            | DType::U8
            | DType::U16
            | DType::U32
            | DType::U64
    )
}

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
        LazyCheckpoint::open(path)?.read_all()
    }

    /// Removes and returns the tensor `key`.
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
        other if is_numeric(other) => Ok(data.convert::<f32>()),
        other => Err(format!(
            "tensor `{key}` has dtype {other:?}; weights must be numbers"
        )),
    }
}

/// Keeps only the wrapped state dict when there is one and strips DataParallel's prefix.
fn unwrap_keys<T>(tensors: BTreeMap<String, T>) -> BTreeMap<String, T> {
    let strip = |tensors: BTreeMap<String, T>, prefix: &str| {
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
