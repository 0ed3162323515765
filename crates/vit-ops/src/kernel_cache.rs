//! CubeCL's on-disk caches — compiled CUDA kernels (PTX) and autotune results — kept in one user
//! folder, so a process after the first skips NVRTC compilation and autotuning. Without it every
//! `vit` process on CUDA spent 30–130 s compiling before its first result (H200, 2026-11-27):
//! CubeCL keeps no compiled kernels by default, and puts autotune results in `target/` of
//! whatever Cargo project the working folder is in.

use std::path::{Path, PathBuf};

use burn_cubecl::cubecl::config::cache::CacheConfig;
use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

/// The files CubeCL reads its settings from, in the working folder or any folder above it.
pub const CUBECL_CONFIG_FILES: [&str; 4] = ["cubecl.toml", "CubeCL.toml", "burn.toml", "Burn.toml"];

/// The CubeCL config file that applies in `dir` (CubeCL's own search: `dir`, then its parents).
pub fn cubecl_config_file(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .flat_map(|d| CUBECL_CONFIG_FILES.iter().map(move |name| d.join(name)))
        .find(|path| path.is_file())
}

/// Where the caches go by default: `$XDG_CACHE_HOME/vit-burn/cubecl`, else
/// `~/.cache/vit-burn/cubecl`; `None` without a home folder.
pub fn default_kernel_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vit-burn").join("cubecl"))
}

/// What [`enable_kernel_cache`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelCache {
    /// Compiled kernels and autotune results now persist in this folder.
    Enabled(PathBuf),
    /// A CubeCL config file applies here; its settings are left to rule.
    UserConfig(PathBuf),
    /// CubeCL's settings were already fixed in this process (a backend was used before).
    AlreadyConfigured,
}

/// Makes CubeCL keep compiled kernels and autotune results in `dir` for this process, unless a
/// CubeCL config file applies in the working folder (then that file rules) or CubeCL's
/// settings were already read. CubeCL's environment overrides (`CUBECL_DEBUG_LOG`,
/// `CUBECL_AUTOTUNE_LEVEL`, …) still apply. Call it before the first tensor of a CubeCL backend.
pub fn enable_kernel_cache(dir: &Path) -> KernelCache {
    if let Some(file) = std::env::current_dir()
        .ok()
        .and_then(|cwd| cubecl_config_file(&cwd))
    {
        return KernelCache::UserConfig(file);
    }
    let storage = CubeClRuntimeConfig::storage();
    let mut state = storage.lock();
    if state.is_some() {
        return KernelCache::AlreadyConfigured;
    }
    let mut config = CubeClRuntimeConfig::default().override_from_env();
    config.compilation.cache = Some(CacheConfig::File(dir.to_path_buf()));
    config.autotune.cache = CacheConfig::File(dir.to_path_buf());
    *state = Some(std::sync::Arc::new(config));
    KernelCache::Enabled(dir.to_path_buf())
}
