//! Outputs never replace what is not a regular file, and killed writes leave nothing behind
//! that is taken for a result.

use std::io::Read;
use std::time::Duration;

use vit_core::atomic_file::{is_temp_name, remove_orphan_temps, write_atomic};
use vit_testing::temp_dir;

#[test]
fn a_regular_file_is_replaced_and_no_temporary_file_remains() {
    let dir = temp_dir("atomic-regular");
    let path = dir.join("out.bin");
    std::fs::write(&path, b"old").unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
}

#[cfg(unix)]
#[test]
fn a_symlink_is_followed_and_kept() {
    let dir = temp_dir("atomic-symlink");
    let target = dir.join("real.txt");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.join("link.txt");
    std::os::unix::fs::symlink("real.txt", &link).unwrap();
    write_atomic(&link, b"through the link").unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"through the link");
}

/// Creates a FIFO at `path` (`mkfifo`).
#[cfg(unix)]
fn make_fifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_written_as_a_stream_not_replaced() {
    let dir = temp_dir("atomic-fifo");
    let fifo = dir.join("pipe");
    make_fifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(reader_path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        tx.send(text).unwrap();
    });
    write_atomic(&fifo, b"streamed").unwrap();
    let text = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the reader got the bytes");
    assert_eq!(text, "streamed");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
}

/// While a write waits for a FIFO's reader (a run killed then would leave it behind), no
/// temporary file of it exists by name: on Linux it is unlinked at once.
#[cfg(target_os = "linux")]
#[test]
fn a_fifo_write_waiting_for_its_reader_leaves_no_named_temporary_file() {
    let dir = temp_dir("atomic-fifo-wait");
    let fifo = dir.join("pipe");
    make_fifo(&fifo);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || write_atomic(&writer_path, b"later"));
    std::thread::sleep(Duration::from_millis(300));
    let prefix = format!("vit-stream-{}-", std::process::id());
    let named: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    // Release the writer before asserting (the reader takes the bytes).
    let mut text = String::new();
    std::fs::File::open(&fifo)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(text, "later");
    assert!(named.is_empty(), "temporary files by name: {named:?}");
}

#[test]
fn a_directory_is_an_error_and_stays() {
    let dir = temp_dir("atomic-dir");
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("keep"), b"x").unwrap();
    let err = write_atomic(&sub, b"new").unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    assert_eq!(std::fs::read(sub.join("keep")).unwrap(), b"x");
}

#[test]
fn orphan_temporary_files_of_dead_processes_are_removed() {
    let dir = temp_dir("atomic-orphans");
    let dead = dir.join(".model.bpk.vit-tmp4294967295");
    let ours = dir.join(format!(".log.csv.vit-tmp{}", std::process::id()));
    let user = dir.join(".notes.tmp");
    // Named like ours, but not a file this caller writes there: a user's, kept.
    let lookalike = dir.join(".thesis.tex.vit-tmp4294967295");
    let old_style = dir.join(".model.bpk.tmp4294967295");
    for path in [&dead, &ours, &user, &lookalike, &old_style] {
        std::fs::write(path, b"x").unwrap();
    }
    assert!(is_temp_name(".model.bpk.vit-tmp4294967295") && !is_temp_name(".notes.tmp"));
    assert!(!is_temp_name(".model.bpk.tmp12") && !is_temp_name(".vit-tmp12"));
    let owns = |name: &str| ["model.bpk", "log.csv"].contains(&name);
    assert_eq!(remove_orphan_temps(&dir, owns).unwrap(), 1);
    assert!(!dead.exists() && ours.exists() && user.exists());
    assert!(lookalike.exists() && old_style.exists());
}
