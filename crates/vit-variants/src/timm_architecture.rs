//! One pretrained architecture of a timm model module, as the catalogue generator records it
//! (`scripts/make_catalogue.py`): the name, the arguments its entrypoint passes to the model
//! class (timm's names and values) and timm's parameter count — turned into the family's config
//! by the same translation a timm folder's `model_args` go through.

use std::marker::PhantomData;
use std::path::Path;

use serde_json::{Map, Value};
use vit_core::error::{Result, VitError};

/// A family config built from timm's argument names (`Eva`, `Beit`, `VisionTransformerRelPos`…).
pub trait TimmArgs: Sized {
    /// The family's defaults, remembering timm's architecture name `name` (for exporting back).
    fn for_architecture(name: &str) -> Self;

    /// timm arguments `args` (and a `num_classes` from the folder's config) over `base`; `path`
    /// names where they come from in errors, and arguments the family cannot honour are errors
    /// naming them.
    fn apply_timm_args(
        base: &Self,
        args: &Map<String, Value>,
        num_classes: Option<usize>,
        path: &Path,
    ) -> Result<Self>;
}

/// One architecture of a timm module, as timm's entrypoint builds it; `C` is the family's config.
pub struct TimmArchitecture<C> {
    /// timm's architecture name, e.g. `beit_base_patch16_224`.
    pub name: &'static str,
    /// The entrypoint's arguments (JSON object, timm's names and values).
    pub model_args: &'static str,
    /// timm's parameter count with the default head.
    pub params: u64,
    family: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for TimmArchitecture<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimmArchitecture")
            .field("name", &self.name)
            .field("model_args", &self.model_args)
            .field("params", &self.params)
            .finish()
    }
}

impl<C> TimmArchitecture<C> {
    /// A row of a generated table.
    pub const fn new(name: &'static str, model_args: &'static str, params: u64) -> Self {
        Self {
            name,
            model_args,
            params,
            family: PhantomData,
        }
    }

    /// The entrypoint's arguments as a JSON object.
    pub fn args(&self) -> Map<String, Value> {
        match serde_json::from_str(self.model_args) {
            Ok(Value::Object(map)) => map,
            _ => unreachable!("the generated catalogue holds JSON objects"),
        }
    }
}

impl<C: TimmArgs> TimmArchitecture<C> {
    /// The config timm's entrypoint builds, or the error naming the argument this
    /// implementation cannot honour yet (and the architecture).
    pub fn config(&self) -> Result<C> {
        let base = C::for_architecture(self.name);
        C::apply_timm_args(&base, &self.args(), None, Path::new(self.name)).map_err(|e| match e {
            VitError::ModelArg { arg, reason, .. } => VitError::UnsupportedArchitecture {
                architecture: self.name.to_string(),
                arg,
                reason,
            },
            other => other,
        })
    }
}

/// The row of `name` in `table`, if the module has such a pretrained architecture.
pub fn find_architecture<C>(
    table: &'static [TimmArchitecture<C>],
    name: &str,
) -> Option<&'static TimmArchitecture<C>> {
    table.iter().find(|a| a.name == name)
}
