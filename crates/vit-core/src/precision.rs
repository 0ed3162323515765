//! Mixed precision with the semantics of PyTorch's autocast: inside an [`autocast`] scope the
//! matrix products — every `Linear` (the patch embedding and the heads included) and attention —
//! take their operands in bf16 or f16, while everything else (LayerNorm, softmax, GELU, the
//! residual stream, the loss, reductions) stays f32, and so do the parameters.
//!
//! ```no_run
//! # use burn::tensor::Tensor;
//! # use vit_core::prelude::*;
//! use vit_core::precision::{Precision, autocast};
//! # fn run<B: VitBackend>(model: VisionTransformer<B>, images: Tensor<B, 4>) {
//! let _bf16 = autocast(Precision::Bf16); // until the guard drops, on this thread
//! let logits = model.forward(images); // f32 logits, bf16 matrix products
//! # }
//! ```
//!
//! One difference from PyTorch, on purpose: an autocast product hands its result back in f32
//! (PyTorch keeps it in the low precision until an op promotes it). The next product rounds its
//! operands again, so the products see the same numbers; the ops in between (GELU, the
//! residual adds) run in f32 instead of on rounded values, and Burn needs no mixed-dtype
//! arithmetic. It costs memory traffic on the GPU, not accuracy.
//!
//! Where it runs: on devices with fast paths for the type (CUDA's tensor cores for bf16 and f16;
//! WGPU where the adapter has them) the products take tensors of that type
//! ([`AutocastMode::Native`]). Elsewhere — the CPU backends, NdArray included, which has no
//! half-precision tensors at all — the products run on f32 tensors rounded to the type by
//! vit-ops' rounding kernel ([`AutocastMode::Emulated`]): the same numbers as the type itself
//! (products of rounded operands, accumulated in f32, the result rounded once), through the f32
//! kernels. A backend with neither is refused by [`Precision::check_backend`] before anything
//! runs.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use burn::tensor::backend::DTypeUsage;
use burn::tensor::{DType, FloatDType, Tensor};
use serde::{Deserialize, Serialize};
use vit_ops::VitBackend;

/// The precision of the matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32 (no autocast).
    #[default]
    F32,
    /// Matrix products in bfloat16 (f32's range, 8 bits of mantissa): no loss scaling needed.
    Bf16,
    /// Matrix products in IEEE half precision (range ±65504): training needs loss scaling.
    F16,
}

impl Precision {
    /// Every precision, in the order the CLI lists them.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::F16];

    /// The low-precision type the products run in (`None` for f32).
    pub fn autocast_dtype(self) -> Option<FloatDType> {
        match self {
            Self::F32 => None,
            Self::Bf16 => Some(FloatDType::BF16),
            Self::F16 => Some(FloatDType::F16),
        }
    }

    /// The tensor type of the precision.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::Bf16 => DType::BF16,
            Self::F16 => DType::F16,
        }
    }

    /// Whether training in this precision needs dynamic loss scaling (f16's narrow range).
    pub fn needs_loss_scaling(self) -> bool {
        self == Self::F16
    }

    /// Whether backend `B` runs this precision on `device` (in the type itself, or by rounding
    /// f32 tensors on the CPU backends); the error names the backend and where it runs.
    pub fn check_backend<B: VitBackend>(self, device: &B::Device) -> Result<(), String> {
        if self == Self::F32 || B::vit_host_rounding() || B::supports_dtype(device, self.dtype()) {
            return Ok(());
        }
        Err(format!(
            "precision {self} needs a backend that computes in {self}, and {} on {device:?} \
             does not; {self} runs on the CPU backends (ndarray, flex), on CUDA, and on WGPU \
             where the GPU has the type",
            B::name(device)
        ))
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        })
    }
}

impl FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown precision {s:?}: expected f32, bf16 or f16"))
    }
}

thread_local! {
    static AUTOCAST: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Restores the previous precision of the thread when dropped.
#[must_use = "autocast lasts as long as its guard"]
#[derive(Debug)]
pub struct AutocastGuard {
    previous: Precision,
}

impl Drop for AutocastGuard {
    fn drop(&mut self) {
        AUTOCAST.with(|p| p.set(self.previous));
    }
}

/// Runs the matrix products of this thread in `precision` until the guard drops (scopes nest;
/// [`Precision::F32`] turns autocast off inside an outer scope).
pub fn autocast(precision: Precision) -> AutocastGuard {
    AutocastGuard {
        previous: AUTOCAST.with(|p| p.replace(precision)),
    }
}

/// The precision of this thread's matrix products now.
pub fn current() -> Precision {
    AUTOCAST.with(Cell::get)
}

/// How this thread's autocast runs on a device: off, in the low-precision type itself, or with
/// f32 tensors rounded to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutocastMode {
    /// No autocast scope (f32).
    Off,
    /// Products in the low-precision type: the device has fast paths for it (tensor cores).
    Native(FloatDType),
    /// No fast path for the type (the CPU backends): operands and results are rounded to the
    /// type ([`vit_ops::round_to`]) but stay f32 tensors, so the f32 kernels (vit-ops' fused
    /// CPU path) run the products. The numbers are those of the native path — products of
    /// rounded operands, accumulated in f32, the result rounded once.
    Emulated(FloatDType),
}

impl AutocastMode {
    /// The mode of this thread's scope on `device`.
    pub fn current<B: VitBackend>(device: &B::Device) -> Self {
        match current().autocast_dtype() {
            None => Self::Off,
            Some(dtype) => {
                let usage = B::dtype_usage(device, DType::from(dtype));
                if usage.contains(DTypeUsage::Accelerated) && !B::vit_host_rounding() {
                    Self::Native(dtype)
                } else {
                    Self::Emulated(dtype)
                }
            }
        }
    }
}

/// An operand of an autocast product: in the autocast type (native), rounded to it (emulated),
/// or unchanged (no scope).
pub fn to_autocast<B: VitBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match AutocastMode::current::<B>(&x.device()) {
        AutocastMode::Off => x,
        AutocastMode::Native(dtype) if x.dtype() == DType::from(dtype) => x,
        AutocastMode::Native(dtype) => x.cast(dtype),
        AutocastMode::Emulated(dtype) => round_to(x, dtype),
    }
}

/// The result of an autocast product, back in f32: converted (native) or rounded once to the
/// autocast type (emulated); unchanged without a scope.
pub fn from_autocast<B: VitBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match AutocastMode::current::<B>(&x.device()) {
        AutocastMode::Off => x,
        AutocastMode::Native(_) if x.dtype() == DType::F32 => x,
        AutocastMode::Native(_) => x.cast(FloatDType::F32),
        AutocastMode::Emulated(dtype) => round_to(x, dtype),
    }
}

/// `x` rounded to `dtype`'s precision (round to nearest even), as an f32 tensor.
fn round_to<B: VitBackend, const D: usize>(x: Tensor<B, D>, dtype: FloatDType) -> Tensor<B, D> {
    vit_ops::round_to(x, dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_restore() {
        assert_eq!(current(), Precision::F32);
        {
            let _outer = autocast(Precision::Bf16);
            assert_eq!(current(), Precision::Bf16);
            {
                let _inner = autocast(Precision::F32);
                assert_eq!(current(), Precision::F32);
            }
            assert_eq!(current(), Precision::Bf16);
        }
        assert_eq!(current(), Precision::F32);
    }

    #[test]
    fn the_scope_is_per_thread() {
        let _bf16 = autocast(Precision::Bf16);
        let other = std::thread::spawn(current).join().unwrap();
        assert_eq!(other, Precision::F32);
    }

    #[test]
    fn names_parse_and_bad_ones_say_what_is_expected() {
        for p in Precision::ALL {
            assert_eq!(p.to_string().parse::<Precision>(), Ok(p));
        }
        assert_eq!("BF16".parse::<Precision>(), Ok(Precision::Bf16));
        let err = "fp8".parse::<Precision>().unwrap_err();
        assert!(err.contains("fp8") && err.contains("bf16"), "{err}");
        let json: Precision = serde_json::from_str("\"f16\"").unwrap();
        assert_eq!(json, Precision::F16);
    }

    #[test]
    fn ndarray_runs_half_precisions_by_rounding_f32_tensors() {
        use burn::backend::NdArray;
        let device = Default::default();
        for p in Precision::ALL {
            assert!(p.check_backend::<NdArray>(&device).is_ok(), "{p}");
        }
        let _bf16 = autocast(Precision::Bf16);
        assert_eq!(
            AutocastMode::current::<NdArray>(&device),
            AutocastMode::Emulated(FloatDType::BF16)
        );
        let x = Tensor::<NdArray, 1>::from_floats(
            [1.0 + f32::EPSILON, 3.0, 1.0 + 1.0 / 256.0],
            &device,
        );
        let rounded = to_autocast(x);
        assert_eq!(rounded.dtype(), DType::F32);
        // 1 + 2⁻⁸ lies halfway between two bf16 values: ties go to the even one, 1.
        assert_eq!(
            rounded.into_data().to_vec::<f32>().unwrap(),
            vec![1.0, 3.0, 1.0]
        );
    }
}
