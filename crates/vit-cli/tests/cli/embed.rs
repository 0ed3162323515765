//! `vit embed`: pre-logits image features equal timm's
//! `forward_head(forward_features(x), pre_logits=True)` on the catalogue fixtures, as `.npy` and
//! JSON Lines, L2-normalised on request; images go through the same preprocessing as `predict`.

use std::path::{Path, PathBuf};

use vit_core::weights::checkpoint::Checkpoint;

use crate::commands::{max_diff, read_npy};
use crate::common::vit;

fn fixture(name: &str) -> PathBuf {
    vit_testing::timm_fixture(name)
}

/// timm's pre-logits of a fixture's input, `[rows, dim]` flattened.
fn timm_pre_logits(case: &str) -> (Vec<usize>, Vec<f32>) {
    let io = Checkpoint::read(fixture(case).join("io.safetensors")).unwrap();
    let data = io.tensors["pre_logits"].clone();
    (
        data.shape.to_vec(),
        data.convert::<f32>().into_vec().unwrap(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vit-embed-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn embed_writes_timms_pre_logits_of_a_dinov2_register_model_as_npy() {
    let dir = temp_dir("npy");
    let out = dir.join("emb.npy");
    let input = fixture("cat_dinov2_reg").join("input.npy");
    let (ok, _, stderr) = vit(&[
        "--backend",
        "ndarray",
        "embed",
        "-m",
        fixture("cat_dinov2_reg").to_str().unwrap(),
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (shape, values) = read_npy(&out);
    let (expected_shape, expected) = timm_pre_logits("cat_dinov2_reg");
    assert_eq!(shape, expected_shape);
    assert!(max_diff(&values, &expected) <= 1e-4, "{stderr}");
    assert!(
        stderr.contains("row 1:") && stderr.contains("input.npy[1]"),
        "{stderr}"
    );
}

#[test]
fn embed_normalises_siglip_features_into_json_lines_named_by_row() {
    let input = fixture("cat_siglip_tanh_map").join("input.npy");
    let (ok, stdout, stderr) = vit(&[
        "--backend",
        "ndarray",
        "embed",
        "-m",
        fixture("cat_siglip_tanh_map").to_str().unwrap(),
        input.to_str().unwrap(),
        "--normalize",
    ]);
    assert!(ok, "{stderr}");
    let (shape, expected) = timm_pre_logits("cat_siglip_tanh_map");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), shape[0]);
    for (i, (line, row)) in lines.iter().zip(expected.chunks(shape[1])).enumerate() {
        assert_eq!(line["file"], format!("{}[{i}]", input.display()));
        let got: Vec<f32> = line["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        let unit: Vec<f32> = row.iter().map(|v| v / norm).collect();
        assert!(max_diff(&got, &unit) <= 1e-5, "row {i}");
    }
}

#[test]
fn embed_reads_image_folders_in_sorted_order_with_the_models_preprocessing() {
    let dir = temp_dir("images");
    for (name, colour) in [("b.png", [30u8, 200, 30]), ("a.png", [200u8, 30, 30])] {
        image::RgbImage::from_pixel(40, 36, image::Rgb(colour))
            .save(dir.join(name))
            .unwrap();
    }
    let model = fixture("cat_dinov2_reg");
    let (ok, stdout, stderr) = vit(&[
        "--backend",
        "ndarray",
        "embed",
        "-m",
        model.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["file"].as_str().unwrap().ends_with("a.png"));
    assert!(rows[1]["file"].as_str().unwrap().ends_with("b.png"));
    // The same image one at a time gives the same numbers (no batch effects).
    let (ok, single, stderr) = vit(&[
        "--backend",
        "ndarray",
        "embed",
        "-m",
        model.to_str().unwrap(),
        dir.join("a.png").to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let single: serde_json::Value = serde_json::from_str(single.trim()).unwrap();
    let values = |v: &serde_json::Value| -> Vec<f32> {
        v["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    assert!(max_diff(&values(&single), &values(&rows[0])) <= 1e-5);
    assert!(
        max_diff(&values(&rows[0]), &values(&rows[1])) > 1e-3,
        "two colours, one embedding"
    );
}

#[test]
fn embed_refuses_mixed_inputs_and_binary_output_to_a_terminal() {
    let model = fixture("cat_dinov2_reg");
    let input = fixture("cat_dinov2_reg").join("input.npy");
    let (ok, _, stderr) = vit(&[
        "embed",
        "-m",
        model.to_str().unwrap(),
        input.to_str().unwrap(),
        Path::new("other.png").to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains(".npy input is a whole batch"),
        "{stderr}"
    );
    let (ok, _, stderr) = vit(&[
        "embed",
        "-m",
        model.to_str().unwrap(),
        input.to_str().unwrap(),
        "--format",
        "npy",
    ]);
    assert!(!ok && stderr.contains("--output"), "{stderr}");
}
