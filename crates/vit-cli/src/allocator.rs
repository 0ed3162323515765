//! glibc's allocator, told to keep freed memory for reuse.
//!
//! Tensor buffers of 128 KiB to tens of MiB are allocated and freed every layer. By default
//! glibc serves them with fresh `mmap`s (or trims the heap after each free), so every step pays
//! for page faults and zeroing of the same memory again: 10–15 % of a training step here
//! (`perf`, 2026-11-27). Raising the mmap and trim thresholds keeps those pages in the heap;
//! peak memory stays that of the live tensors (the bench's `peak MiB` column shows it).

/// Applies the settings; a no-op where the allocator is not glibc's.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Buffers below 256 MiB come from the heap, and up to 512 MiB of free heap is kept.
        // SAFETY: mallopt only changes allocator parameters; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}
