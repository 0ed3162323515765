//! The backends compiled into this binary (cargo features) and running a job on one of them.

use clap::ValueEnum;
use vit_core::VitBackend;

#[cfg(not(any(
    feature = "ndarray",
    feature = "flex",
    feature = "wgpu",
    feature = "cuda"
)))]
compile_error!(
    "vit-cli needs at least one backend feature: `ndarray` (default), `flex`, `wgpu` or `cuda`"
);

/// A tensor backend this binary can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// CPU: ndarray + matrixmultiply (multi-threaded, SIMD).
    #[cfg(feature = "ndarray")]
    Ndarray,
    /// CPU: Burn's flex backend (gemm crate).
    #[cfg(feature = "flex")]
    Flex,
    /// GPU through wgpu (Vulkan, Metal, DX12).
    #[cfg(feature = "wgpu")]
    Wgpu,
    /// NVIDIA GPU through CUDA.
    #[cfg(feature = "cuda")]
    Cuda,
}

impl BackendKind {
    /// The backend used when none is named: the first compiled of cuda, wgpu, ndarray, flex,
    /// so `--no-default-features --features wgpu` runs on wgpu without a flag. ndarray comes
    /// before flex because it is the faster CPU backend with vit-ops (`cargo xtask bench`,
    /// README → Benchmarks).
    /// CUDA is skipped where its driver library cannot be loaded (a `cuda,wgpu` binary on a
    /// machine without an NVIDIA GPU runs on WGPU).
    pub fn preferred() -> Self {
        const ORDER: [&str; 4] = ["cuda", "wgpu", "ndarray", "flex"];
        let usable = |name: &str| name != "cuda" || crate::gpu_driver::check_cuda_driver().is_ok();
        let compiled = |name: &str| {
            Self::value_variants()
                .iter()
                .find(|kind| {
                    kind.to_possible_value()
                        .is_some_and(|v| v.get_name() == name)
                })
                .copied()
        };
        ORDER
            .iter()
            .filter(|name| usable(name))
            .find_map(|name| compiled(name))
            .or_else(|| ORDER.iter().find_map(|name| compiled(name)))
            .expect("at least one backend is compiled in")
    }

    /// Readies this backend before any tensor is made: `Err` naming what is missing when it
    /// cannot run on this machine (today: CUDA without the NVIDIA driver library); on the
    /// CubeCL backends, compiled kernels and autotune results are kept in
    /// `~/.cache/vit-burn/cubecl` ([`vit_ops::kernel_cache`]) unless a `cubecl.toml` applies.
    pub fn prepare(self) -> Result<(), String> {
        #[cfg(feature = "cuda")]
        if self == Self::Cuda {
            crate::gpu_driver::check_cuda_driver()?;
        }
        #[cfg(any(feature = "cuda", feature = "wgpu"))]
        if self.is_cubecl()
            && let Some(dir) = vit_ops::kernel_cache::default_kernel_cache_dir()
        {
            vit_ops::kernel_cache::enable_kernel_cache(&dir);
        }
        Ok(())
    }

    /// Whether this is a CubeCL backend (WGPU, CUDA).
    #[cfg(any(feature = "cuda", feature = "wgpu"))]
    fn is_cubecl(self) -> bool {
        match self {
            #[cfg(feature = "wgpu")]
            Self::Wgpu => true,
            #[cfg(feature = "cuda")]
            Self::Cuda => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// Work that can run on any backend: implemented once, generic over `B`.
pub trait BackendJob {
    /// What the job returns.
    type Output;
    /// Runs the job on `device`.
    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output;
}

/// Runs `job` on the chosen backend's default device.
pub fn run_on<J: BackendJob>(kind: BackendKind, job: J) -> J::Output {
    match kind {
        #[cfg(feature = "ndarray")]
        BackendKind::Ndarray => job.run::<burn::backend::NdArray<f32>>(Default::default()),
        #[cfg(feature = "flex")]
        BackendKind::Flex => job.run::<burn::backend::Flex>(Default::default()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => job.run::<burn::backend::Wgpu>(Default::default()),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => job.run::<burn::backend::Cuda>(Default::default()),
    }
}
