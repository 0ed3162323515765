//! Writing outputs without ever losing what the user had.
//!
//! - A regular file (or a new path) is written beside its target, flushed to disk, and renamed
//!   over it, and the rename itself is flushed: a reader, a crash or a killed run never sees half
//!   a file, and a concurrent writer never shares the temporary file (one per process).
//! - A symbolic link is followed: the file it points to is replaced atomically, the link stays.
//! - Anything else that exists at the path — a FIFO, a character device, a socket — is written
//!   to as a stream, never replaced by a file; a directory is an error.
//! - The path `-` is standard output.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How many symbolic links are followed before giving up (as Linux's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// The marker in the name of this module's temporary files.
const TEMP_MARKER: &str = ".vit-tmp";

/// The hidden temporary path beside `path` that a write goes to before its rename
/// (`dir/.name.vit-tmp<pid>`: one per process, so concurrent writers do not share it).
pub fn temp_path_beside(path: &Path) -> std::io::Result<PathBuf> {
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!("{TEMP_MARKER}{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// The file a temporary file of this module (`.name.vit-tmp<pid>`) was to become, and the pid
/// that wrote it; `None` for any other name.
pub fn temp_target(name: &str) -> Option<(&str, &str)> {
    let (target, pid) = name.strip_prefix('.')?.rsplit_once(TEMP_MARKER)?;
    let valid = !target.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    valid.then_some((target, pid))
}

/// Whether `name` is a temporary file left by a write of this module (`.name.vit-tmp<pid>`),
/// e.g. after the process was killed mid-write.
pub fn is_temp_name(name: &str) -> bool {
    temp_target(name).is_some()
}

/// Where a write to `path` really goes.
enum Target {
    /// A regular file or a new path: replaced atomically.
    File(PathBuf),
    /// Something to write into, not replace (FIFO, device, socket, standard output).
    Stream(PathBuf),
}

/// Follows symbolic links from `path` to what a write should reach.
fn resolve(path: &Path) -> std::io::Result<Target> {
    if path == Path::new("-") {
        return Ok(Target::Stream(path.to_path_buf()));
    }
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::File(current)),
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&current)?;
            current = match current.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            };
        } else if kind.is_file() {
            return Ok(Target::File(current));
        } else if kind.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                format!("{} is a directory, not a file", current.display()),
            ));
        } else {
            return Ok(Target::Stream(current));
        }
    }
    Err(std::io::Error::other(format!(
        "{}: more than {MAX_LINKS} symbolic links",
        path.display()
    )))
}

/// Flushes `path`'s contents (or, for a directory, its entries) to disk.
fn sync(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes through `write` to `path` as the module documentation says: into a temporary file
/// beside it, synced, renamed over it, the directory synced; the temporary file is removed when
/// anything fails. For a stream target `write` still writes a (private) temporary file, whose
/// bytes are then copied into the stream.
pub fn write_atomic_with<E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    match resolve(path)? {
        Target::File(target) => {
            let tmp = temp_path_beside(&target)?;
            let written = write(&tmp)
                .and_then(|()| sync(&tmp).map_err(E::from))
                .and_then(|()| std::fs::rename(&tmp, &target).map_err(E::from));
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written?;
            // The rename is durable once the directory entry is; some file systems cannot
            // sync a directory, which loses nothing the rename had not already promised.
            if let Some(dir) = target.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                let _ = sync(dir);
            }
            Ok(())
        }
        Target::Stream(target) => {
            let tmp = std::env::temp_dir().join(format!(
                "vit-stream-{}-{}",
                std::process::id(),
                STREAM_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            // On Linux the file is unlinked at once and written through its descriptor: a run
            // killed mid-write (a reader that never comes to the FIFO) leaves nothing behind.
            #[cfg(target_os = "linux")]
            if let Ok(file) = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                use std::os::fd::AsRawFd;
                let _ = std::fs::remove_file(&tmp);
                let by_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
                return write(&by_fd)
                    .and_then(|()| copy_to_stream(&by_fd, &target).map_err(E::from));
            }
            let written = write(&tmp).and_then(|()| copy_to_stream(&tmp, &target).map_err(E::from));
            let _ = std::fs::remove_file(&tmp);
            written
        }
    }
}

static STREAM_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Copies the file `from` into the stream `to` (`-`: standard output), opened without
/// truncating or creating anything.
fn copy_to_stream(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    File::open(from)?.read_to_end(&mut bytes)?;
    if to == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        return out.flush();
    }
    let mut out = std::fs::OpenOptions::new().write(true).open(to)?;
    out.write_all(&bytes)?;
    out.flush()
}

/// Writes `bytes` to `path` (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, bytes))
}

/// Removes the temporary files that killed writes left in `dir` (not recursively); returns how
/// many. Only regular files named as this module names them (`.name.vit-tmp<pid>`) whose
/// `name` the caller `owns` (a file it writes there) are touched, and only when no live
/// process could still be writing them (their pid is not running): a user's file is never
/// removed for looking like one.
pub fn remove_orphan_temps(dir: &Path, owns: impl Fn(&str) -> bool) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((target, pid)) = temp_target(name) else {
            continue;
        };
        if !owns(target) || !entry.file_type()?.is_file() || pid_is_running(pid) {
            continue;
        }
        std::fs::remove_file(entry.path())?;
        removed += 1;
    }
    Ok(removed)
}

/// Whether a process with this pid runs (Linux: `/proc/<pid>`; elsewhere assume it might).
fn pid_is_running(pid: &str) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid).exists()
    } else {
        true
    }
}
