//! What a hostile user hands the `vit` binary: each ends in an error naming the file (exit
//! code 1), never a signal, a hang or a memory blow-up.

use std::time::{Duration, Instant};

use crate::common::vit;

fn fixture(name: &str) -> String {
    vit_testing::timm_fixture(name).display().to_string()
}

/// A `.npy` header whose shape product overflows `usize` (a batch of 2⁶²) used to wrap the
/// byte count to 0, pass the size check and crash `vit forward` with SIGSEGV.
#[test]
fn an_npy_whose_shape_overflows_is_an_error_not_a_crash() {
    let dir = vit_testing::temp_dir("hostile-npy");
    let path = dir.join("overflow.npy");
    let header =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 3, 8, 8), }";
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<117}\n");
    bytes.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    bytes.extend_from_slice(padded.as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let out = dir.join("out.npy");
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &fixture("vit_cls"),
        "-i",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("overflow.npy") && stderr.contains("too large"),
        "{stderr}"
    );
    assert!(!crate::panicked(&stderr), "{stderr}");
    assert!(!out.exists());
}

/// A folder with symbolic-link loops used to hang `vit predict` with growing memory (one loop
/// printed the same image 41 times): each real folder and image is visited once.
#[test]
fn predict_walks_a_folder_with_link_loops_once_per_image() {
    let dir = vit_testing::temp_dir("hostile-loops");
    let images = dir.join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    let img = image::RgbImage::from_fn(20, 20, |x, y| {
        image::Rgb([(x * 12) as u8, (y * 12) as u8, 60])
    });
    img.save(images.join("a.png")).unwrap();
    img.save(images.join("sub/b.png")).unwrap();
    std::os::unix::fs::symlink(&images, images.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("..", images.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(images.join("a.png"), images.join("sub/again.png")).unwrap();
    let started = Instant::now();
    let (ok, stdout, stderr) = vit(&[
        "predict",
        "--model",
        &fixture("vit_cls"),
        "--json",
        images.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        stdout.lines().count(),
        2,
        "a.png and b.png once each:\n{stdout}"
    );
}

/// Control characters in a file name are shown escaped, not sent to the terminal raw.
#[test]
fn file_names_with_control_characters_are_printed_escaped() {
    let dir = vit_testing::temp_dir("hostile-names");
    let name = "evil\u{1b}[31m\nname.png";
    let path = dir.join(name);
    image::RgbImage::from_fn(20, 20, |x, _| image::Rgb([(x * 12) as u8, 9, 60]))
        .save_with_format(&path, image::ImageFormat::Png)
        .unwrap();
    let (ok, stdout, stderr) = vit(&[
        "predict",
        "--model",
        &fixture("vit_cls"),
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(stdout.contains("evil\\u{1b}[31m\\nname.png"), "{stdout:?}");
    // The same in an error.
    let broken = dir.join("bad\u{1b}]0;title\u{7}.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let (ok, _, stderr) = vit(&[
        "predict",
        "--model",
        &fixture("vit_cls"),
        broken.to_str().unwrap(),
    ]);
    assert!(
        !ok && !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
}

/// A 1×200 000 PNG (661 bytes) used to take 3 GiB in the resize before the crop (here a
/// million pixels wide, for the fixture's 32-pixel input: refused or gigabytes before).
#[test]
fn an_extreme_aspect_ratio_image_is_classified_in_bounded_memory() {
    let dir = vit_testing::temp_dir("hostile-strip");
    let path = dir.join("strip.png");
    image::RgbImage::from_fn(1_000_000, 1, |x, _| image::Rgb([(x % 251) as u8, 7, 99]))
        .save(&path)
        .unwrap();
    let (ok, stdout, stderr) = peak_rss(&[
        "predict",
        "--model",
        &fixture("vit_cls"),
        path.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("strip.png"), "{stdout}");
}

/// Runs `vit ARGS…` under GNU time (Debian's `time` package) and checks its peak resident
/// memory stays under 1 GiB.
fn peak_rss(args: &[&str]) -> (bool, String, String) {
    let bin = std::env::var_os("VIT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vit").into());
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("peak-kib=%M")
        .arg(&bin)
        .args(args)
        .output()
        .expect("GNU time at /usr/bin/time (apt-get install time)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-kib="))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no peak memory reported: {stderr}"));
    assert!(kib < 1 << 20, "peak memory {kib} KiB: {stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}
