//! Float type of stored weights: saved copies in bf16/f16 for inference (`vit convert
//! --dtype`), and every stored float type read back as f32 (the master weights), so a
//! half-precision file loads on any backend and under any precision.

use std::rc::Rc;

use burn::tensor::DType;
use burn_store::{ModuleAdapter, TensorSnapshot};

use crate::precision::Precision;

/// A burn-store adapter that converts every float tensor to one type as it is saved or loaded
/// (integers and the target type pass unchanged). Unlike burn-store's `HalfPrecisionAdapter`
/// it covers every parameter (class token, position embeddings, bias tables), and bf16.
#[derive(Debug, Clone, Copy)]
pub struct CastFloats(pub DType);

impl CastFloats {
    /// Converts to the precision's type (f32 for [`Precision::F32`]).
    pub fn to(precision: Precision) -> Self {
        Self(precision.dtype())
    }
}

impl ModuleAdapter for CastFloats {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        let target = self.0;
        if !snapshot.dtype.is_float() || snapshot.dtype == target {
            return snapshot.clone();
        }
        let data = snapshot.clone_data_fn();
        TensorSnapshot::from_closure(
            Rc::new(move || Ok(data()?.convert_dtype(target))),
            target,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}
