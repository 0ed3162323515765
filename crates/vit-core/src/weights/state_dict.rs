//! Putting a PyTorch-style state dict (timm key names and layouts) into a Burn module — all or
//! nothing: every key is checked against the module before a single tensor is applied.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use vit_ops::VitBackend;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::tensor::{Bool, Int, Tensor};
use burn_store::{ModuleSnapshot, PyTorchToBurnAdapter};

use crate::error::{Result, VitError};
use crate::weights::checkpoint::Weight;

/// One parameter of a module as PyTorch would name and shape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchParam {
    /// Dotted key, e.g. `blocks.0.norm1.weight` (Burn's enum variant names left out).
    pub key: String,
    /// Shape in PyTorch's layout (`Linear` weights `[out, in]`).
    pub shape: Vec<usize>,
}

/// Walks a module like burn-store's collector, but reads shapes lazily (no weight is drawn).
#[derive(Default)]
struct Inventory {
    path: Vec<String>,
    containers: Vec<String>,
    params: Vec<(TorchParam, ParamId)>,
}

impl Inventory {
    fn push(&mut self, id: ParamId, shape: Vec<usize>) {
        let container = self.containers.last().map(String::as_str).unwrap_or("");
        let mut path = self.path.clone();
        let mut shape = shape;
        // Burn names LayerNorm's affine parameters gamma/beta and stores Linear weights [in, out].
        if container == "Struct:LayerNorm"
            && let Some(last) = path.last_mut()
        {
            match last.as_str() {
                "gamma" => *last = "weight".into(),
                "beta" => *last = "bias".into(),
                _ => {}
            }
        }
        if container == "Struct:Linear" && path.last().is_some_and(|p| p == "weight") {
            shape.reverse();
        }
        let key = path.join(".");
        self.params.push((TorchParam { key, shape }, id));
    }
}

impl<B: VitBackend> ModuleVisitor<B> for Inventory {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.containers.push(container_type.to_string());
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }
    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.containers.pop();
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.push(param.id, param.lazy_shape().as_slice().to_vec());
    }
    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        self.push(param.id, param.lazy_shape().as_slice().to_vec());
    }
    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        self.push(param.id, param.lazy_shape().as_slice().to_vec());
    }
}

/// Every parameter of `module` with its PyTorch key and shape, in module order, without
/// initialising lazy parameters.
pub fn torch_params<B: VitBackend, M: Module<B>>(module: &M) -> Vec<TorchParam> {
    torch_param_ids(module)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// [`torch_params`] with each parameter's id, for code that picks parameters by name (weight-decay
/// groups, freezing a backbone).
pub fn torch_param_ids<B: VitBackend, M: Module<B>>(module: &M) -> Vec<(TorchParam, ParamId)> {
    let mut inventory = Inventory::default();
    module.visit(&mut inventory);
    inventory.params
}

/// A key whose shape in the file differs from the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The key.
    pub key: String,
    /// Shape the model has.
    pub expected: Vec<usize>,
    /// Shape the file has.
    pub found: Vec<usize>,
}

/// Why a checkpoint does not fit a model: every problem at once, so one run shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsMismatch {
    /// The weights file.
    pub path: PathBuf,
    /// Keys the model needs that the file lacks, with the expected shapes.
    pub missing: Vec<TorchParam>,
    /// Keys in the file the model has no place for, with their shapes.
    pub unexpected: Vec<TorchParam>,
    /// Keys present in both with different shapes.
    pub mismatched: Vec<ShapeMismatch>,
}

impl fmt::Display for WeightsMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "weights file {} does not fit the model ({} missing, {} unexpected, {} with another shape)",
            self.path.display(),
            self.missing.len(),
            self.unexpected.len(),
            self.mismatched.len()
        )?;
        for p in &self.missing {
            write!(
                f,
                "\n  missing     {} (expected shape {:?})",
                p.key, p.shape
            )?;
        }
        for p in &self.unexpected {
            write!(f, "\n  unexpected  {} (shape {:?})", p.key, p.shape)?;
        }
        for m in &self.mismatched {
            write!(
                f,
                "\n  shape       {}: expected {:?}, found {:?}",
                m.key, m.expected, m.found
            )?;
        }
        Ok(())
    }
}

/// What a successful load did besides copying tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Number of tensors copied from the file.
    pub loaded: usize,
    /// Model parameters left at their fresh initialisation on purpose (a new head).
    pub fresh: Vec<String>,
    /// File tensors adapted on the way in, with what was done (e.g. position embedding resampled).
    pub adapted: Vec<String>,
    /// File tensors deliberately not used (e.g. a head when the model has none).
    pub ignored: Vec<String>,
}

/// Applies `tensors` (PyTorch keys and layouts) to `module`.
///
/// Every parameter of the module must be in `tensors` with the same shape, except keys for which
/// `may_stay_fresh` is true, and every tensor must belong to a parameter; otherwise nothing is
/// applied and the error lists all missing, unexpected and mis-shaped keys. `source` names the file
/// in errors.
pub fn apply_state_dict<B: VitBackend, M: Module<B>>(
    module: M,
    tensors: BTreeMap<String, Weight>,
    source: &Path,
    may_stay_fresh: impl Fn(&str) -> bool,
) -> Result<(M, Vec<String>)> {
    let expected = torch_params(&module);
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let mut fresh = Vec::new();
    for param in &expected {
        match tensors.get(&param.key) {
            None if may_stay_fresh(&param.key) => fresh.push(param.key.clone()),
            None => missing.push(param.clone()),
            Some(weight) if weight.shape() != param.shape.as_slice() => {
                mismatched.push(ShapeMismatch {
                    key: param.key.clone(),
                    expected: param.shape.clone(),
                    found: weight.shape().to_vec(),
                })
            }
            Some(_) => {}
        }
    }
    let known: std::collections::BTreeSet<&str> = expected.iter().map(|p| p.key.as_str()).collect();
    let unexpected: Vec<TorchParam> = tensors
        .iter()
        .filter(|(key, _)| !known.contains(key.as_str()))
        .map(|(key, weight)| TorchParam {
            key: key.clone(),
            shape: weight.shape().to_vec(),
        })
        .collect();
    if !(missing.is_empty() && unexpected.is_empty() && mismatched.is_empty()) {
        return Err(VitError::WeightsMismatch(Box::new(WeightsMismatch {
            path: source.to_path_buf(),
            missing,
            unexpected,
            mismatched,
        })));
    }

    let count = tensors.len();
    // Each tensor is read from the file (and converted) only as burn-store applies it, and
    // dropped once it is in the module: the file's copy of the weights is never whole in memory.
    let snapshots = tensors
        .into_iter()
        .map(|(key, weight)| {
            let path = key.split('.').map(str::to_string).collect();
            weight.into_snapshot(path)
        })
        .collect();
    let mut module = module;
    let result = module.apply(snapshots, None, Some(Box::new(PyTorchToBurnAdapter)), true);
    // Everything was checked above; this guards against a layout burn-store maps differently.
    let not_applied: Vec<String> = result
        .missing
        .iter()
        .map(|(path, _)| path.clone())
        .filter(|path| !fresh.iter().any(|f| same_param(f, path)))
        .collect();
    if !result.errors.is_empty() || result.applied.len() != count || !not_applied.is_empty() {
        let mut message = format!("applied {} of {} tensors", result.applied.len(), count);
        for error in &result.errors {
            message.push_str(&format!("\n  {error}"));
        }
        for path in &not_applied {
            message.push_str(&format!("\n  not loaded: {path}"));
        }
        return Err(VitError::Checkpoint {
            path: source.to_path_buf(),
            message,
        });
    }
    Ok((module, fresh))
}

/// Whether a PyTorch key and a Burn path name the same parameter (LayerNorm names differ).
fn same_param(torch_key: &str, burn_path: &str) -> bool {
    let burn_as_torch = burn_path
        .strip_suffix(".gamma")
        .map(|p| format!("{p}.weight"))
        .or_else(|| burn_path.strip_suffix(".beta").map(|p| format!("{p}.bias")))
        .unwrap_or_else(|| burn_path.to_string());
    torch_key == burn_path || torch_key == burn_as_torch
}

/// timm's classifier handling on load for the Linear at `prefix` (`head`, `head.fc`,
/// `head_dist`): kept when the file's has `num_classes` outputs; otherwise dropped from
/// `tensors` — reported as ignored when the model has no head (`num_classes = 0`) — and the
/// return value is true when the model's head must stay freshly initialised (fine-tuning).
pub fn adapt_head(
    tensors: &mut BTreeMap<String, Weight>,
    prefix: &str,
    num_classes: usize,
    report: &mut LoadReport,
) -> bool {
    let (weight, bias) = (format!("{prefix}.weight"), format!("{prefix}.bias"));
    let file_classes = tensors.get(&weight).map(|w| w.shape()[0]);
    let new_head = num_classes > 0 && file_classes != Some(num_classes);
    if num_classes == 0 || new_head {
        for key in [weight, bias] {
            if tensors.remove(&key).is_some() && num_classes == 0 {
                report.ignored.push(key);
            }
        }
    }
    new_head
}
