//! Whether a GPU backend's driver library can be loaded, asked before the backend is first used:
//! CubeCL's CUDA runtime panics (and the process then crashes) when `libcuda` is missing, so a
//! binary built with `--features cuda` on a machine without the NVIDIA driver would die on its
//! first tensor instead of saying why.

/// Whether one of `names` can be loaded by the dynamic linker (`dlopen`), as CubeCL would load it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn library_loads(names: &[&str]) -> bool {
    names.iter().any(|name| {
        let Ok(c_name) = std::ffi::CString::new(*name) else {
            return false;
        };
        // SAFETY: a NUL-terminated name; the handle is closed again at once.
        unsafe {
            let handle = libc::dlopen(c_name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
            if handle.is_null() {
                false
            } else {
                libc::dlclose(handle);
                true
            }
        }
    })
}

/// Elsewhere the check is left to the backend.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn library_loads(_names: &[&str]) -> bool {
    true
}

/// The NVIDIA driver's library names (those CubeCL's loader tries first on Linux).
pub const CUDA_DRIVER: [&str; 2] = ["libcuda.so.1", "libcuda.so"];

/// `Err` with what to do when the CUDA driver library cannot be loaded.
pub fn check_cuda_driver() -> Result<(), String> {
    if library_loads(&CUDA_DRIVER) {
        Ok(())
    } else {
        Err(
            "--backend cuda: the NVIDIA driver library (libcuda.so.1) cannot be loaded on this \
             machine; install the NVIDIA driver (or add its folder to LD_LIBRARY_PATH), or pick \
             another backend with --backend"
                .into(),
        )
    }
}
