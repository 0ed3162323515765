//! The driver check that keeps a CUDA-enabled `vit` from crashing on a machine without the
//! NVIDIA driver (seen 2026-11-27: CubeCL panicked in its device thread, then SIGSEGV).

use crate::gpu_driver::{check_cuda_driver, library_loads};

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn a_library_that_exists_loads_and_a_missing_one_does_not() {
    assert!(library_loads(&["libc.so.6"]));
    assert!(!library_loads(&["libvit-no-such-library.so.7"]));
    assert!(library_loads(&["libvit-no-such-library.so.7", "libm.so.6"]));
    assert!(!library_loads(&["bad\0name"]));
}

#[test]
fn the_cuda_check_agrees_with_the_loader_and_names_the_library() {
    match check_cuda_driver() {
        Ok(()) => assert!(library_loads(&crate::gpu_driver::CUDA_DRIVER)),
        Err(message) => {
            assert!(message.contains("libcuda.so.1"), "{message}");
            assert!(message.contains("--backend"), "{message}");
        }
    }
}
