//! `--precision f32|bf16|f16` of `vit train`, `predict`, `forward` and `bench`: the autocast
//! precision of the matrix products (`vit_core::precision`); weights stay f32.

use clap::Args;
use vit_core::VitBackend;
use vit_core::precision::{AutocastGuard, Precision, autocast};

/// The `--precision` option.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct PrecisionArg {
    /// Precision of the matrix products, with PyTorch autocast's semantics: `f32`, `bf16` or
    /// `f16` (products and attention in the low precision; norms, softmax and the loss in f32;
    /// weights stay f32). Runs on the CPU backends (f32 tensors rounded to the type), CUDA,
    /// and WGPU where the GPU has the type.
    #[arg(long, value_name = "f32|bf16|f16")]
    pub precision: Option<Precision>,
}

impl PrecisionArg {
    /// The precision asked for (f32 when none).
    pub fn get(self) -> Precision {
        self.precision.unwrap_or_default()
    }

    /// Checks that `B` computes in the precision on `device` and starts its autocast scope
    /// (until the guard drops).
    pub fn enter<B: VitBackend>(self, device: &B::Device) -> Result<AutocastGuard, String> {
        self.get().check_backend::<B>(device)?;
        Ok(autocast(self.get()))
    }
}
