//! CubeCL backends (WGPU, CUDA, ROCm, Vulkan, Metal), with or without fusion: Burn's own ops,
//! which their fusion already compiles into few kernels. A measurement on a GPU would have to
//! show a gain before anything replaces them.

use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use burn_fusion::{Fusion, FusionBackend};

use crate::VitBackend;

impl<R, F, I, BT> VitBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
}

impl<B: FusionBackend + VitBackend> VitBackend for Fusion<B> {}
