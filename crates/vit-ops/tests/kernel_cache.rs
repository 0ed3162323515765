//! CubeCL's caches in one user folder (`vit_ops::kernel_cache`). Its own test executable: the
//! setting is once per process.
#![cfg(feature = "cubecl")]

use burn_cubecl::cubecl::config::cache::CacheConfig;
use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
use vit_ops::kernel_cache::{KernelCache, cubecl_config_file, enable_kernel_cache};

#[test]
fn caches_go_to_the_folder_once_and_a_cubecl_config_file_is_found_above() {
    let root = std::env::temp_dir().join(format!("vit-kernel-cache-{}", std::process::id()));
    let nested = root.join("project/src/deep");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(cubecl_config_file(&nested), None);
    std::fs::write(root.join("project/cubecl.toml"), "").unwrap();
    assert_eq!(
        cubecl_config_file(&nested),
        Some(root.join("project/cubecl.toml"))
    );

    // The test runs in the crate's folder, where no CubeCL config file applies.
    let cache = root.join("cache");
    assert_eq!(
        enable_kernel_cache(&cache),
        KernelCache::Enabled(cache.clone())
    );
    let config = CubeClRuntimeConfig::get();
    assert!(matches!(&config.compilation.cache, Some(CacheConfig::File(p)) if *p == cache));
    assert!(matches!(&config.autotune.cache, CacheConfig::File(p) if *p == cache));
    assert_eq!(enable_kernel_cache(&cache), KernelCache::AlreadyConfigured);
    std::fs::remove_dir_all(&root).unwrap();
}
