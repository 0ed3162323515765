//! `--precision` and `convert --dtype` as a user runs them: bf16/f16 forward on the CPU backends,
//! a bad precision named, half-size converted copies that load back as f32, and bench rows that
//! say their precision.

use std::path::Path;

use vit_core::weights::checkpoint::Checkpoint;

use crate::commands::{fixture, max_diff, read_npy};
use crate::common::vit;

fn npy(path: &Path) -> Vec<f32> {
    read_npy(path).1
}

/// timm's logits on `vit_cls` in f32 and how far PyTorch's autocast moves them in `precision`.
fn timm_reference(precision: &str) -> (Vec<f32>, f32) {
    let torch =
        Checkpoint::read(vit_testing::timm_fixture("vit_cls/autocast.safetensors")).unwrap();
    let values = |key: &str| vit_testing::data_values(torch.tensors[key].clone());
    let f32 = values("logits_f32");
    let moved = max_diff(&values(&format!("logits_{precision}")), &f32);
    (f32, moved)
}

/// `vit forward` of the `vit_cls` fixture with `extra` arguments; the logits. On ndarray unless
/// `extra` names a backend (a binary built with `wgpu` would default to it; WGPU's precisions
/// are the `gpu` tests' subject).
fn forward(model: &str, out: &Path, extra: &[&str]) -> Result<Vec<f32>, String> {
    let input = fixture("vit_cls/input.npy");
    let mut args = vec![
        "forward",
        "-m",
        model,
        "-i",
        &input,
        "-o",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--backend") {
        args.extend(["--backend", "ndarray"]);
    }
    args.extend_from_slice(extra);
    let (ok, _, stderr) = vit(&args);
    if ok { Ok(npy(out)) } else { Err(stderr) }
}

#[test]
fn forward_in_bf16_and_f16_stays_within_twice_pytorchs_autocast_error() {
    let dir = vit_testing::TempDir::new("cli-precision");
    let model = fixture("vit_cls");
    for precision in ["bf16", "f16"] {
        let (timm, d_torch) = timm_reference(precision);
        let logits = forward(&model, &dir.0.join("out.npy"), &["--precision", precision]).unwrap();
        let d_ours = max_diff(&logits, &timm);
        assert!(
            d_ours <= 2.0 * d_torch && d_ours > 1e-4,
            "{precision}: {d_ours} (PyTorch autocast {d_torch})"
        );
    }
    // Both CPU backends round f32 tensors with the same kernel: the same logits up to the f32
    // sums' order.
    let [ndarray, flex] = ["ndarray", "flex"].map(|backend| {
        forward(
            &model,
            &dir.0.join(format!("{backend}.npy")),
            &["--backend", backend, "--precision", "bf16"],
        )
        .unwrap()
    });
    assert!(
        max_diff(&ndarray, &flex) <= 1e-3,
        "{}",
        max_diff(&ndarray, &flex)
    );
    let err = forward(&model, &dir.0.join("x.npy"), &["--precision", "fp8"]).unwrap_err();
    assert!(err.contains("fp8") && err.contains("bf16"), "{err}");
}

#[test]
fn convert_writes_half_size_copies_that_load_back_as_f32() {
    let dir = vit_testing::TempDir::new("cli-convert-dtype");
    let model = fixture("vit_cls");
    let (timm, d_torch) = timm_reference("bf16");
    let full = dir.0.join("f32");
    let half = dir.0.join("bf16");
    for (out, dtype) in [(&full, "f32"), (&half, "bf16")] {
        let (ok, _, stderr) = vit(&[
            "convert",
            "-m",
            &model,
            "-o",
            out.to_str().unwrap(),
            "--dtype",
            dtype,
        ]);
        assert!(ok, "{stderr}");
    }
    let size = |d: &Path| std::fs::metadata(d.join("model.bpk")).unwrap().len() as f64;
    let ratio = size(&half) / size(&full);
    assert!((0.45..0.6).contains(&ratio), "bf16/f32 size ratio {ratio}");
    let card = std::fs::read_to_string(half.join("model.json")).unwrap();
    assert!(card.contains("\"weights_dtype\": \"bf16\""), "{card}");
    // Loads on ndarray (which has no bf16) as f32; only the weights were rounded.
    let logits = forward(
        half.to_str().unwrap(),
        &dir.0.join("half.npy"),
        &["--backend", "ndarray"],
    )
    .unwrap();
    let d = max_diff(&logits, &timm);
    assert!(d > 0.0 && d <= 2.0 * d_torch, "bf16 weights: {d}");

    // A timm folder in f16: the safetensors stores F16 and reads back close to the original.
    let timm_half = dir.0.join("timm-f16");
    let (ok, _, stderr) = vit(&[
        "convert",
        "-m",
        &model,
        "-o",
        timm_half.to_str().unwrap(),
        "--format",
        "timm",
        "--dtype",
        "f16",
    ]);
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(timm_half.join("model.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&bytes[8..8 + header_len]);
    assert!(
        header.contains("\"F16\"") && !header.contains("\"F32\""),
        "{header}"
    );
    let (_, d_torch_f16) = timm_reference("f16");
    let logits = forward(
        timm_half.to_str().unwrap(),
        &dir.0.join("timm-half.npy"),
        &[],
    )
    .unwrap();
    let d = max_diff(&logits, &timm);
    assert!(d <= 2.0 * d_torch_f16, "f16 weights: {d}");
}

#[test]
fn bench_rows_name_their_precision() {
    for precision in ["f32", "bf16"] {
        let (ok, stdout, stderr) = vit(&[
            "--backend",
            "ndarray",
            "bench",
            "--model",
            "vit_32px",
            "--batch",
            "2",
            "--warmup",
            "0",
            "--runs",
            "1",
            "--precision",
            precision,
        ]);
        assert!(ok, "{stderr}");
        let row: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(row["precision"], precision, "{row}");
        assert!(row["median_ms"].as_f64().unwrap() > 0.0);
    }
}
