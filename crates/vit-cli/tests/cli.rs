//! The `vit` binary as a user runs it.

use std::process::Command;

fn vit(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vit"))
        .args(args)
        .output()
        .expect("the vit binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn models_prints_every_preset_with_timms_parameter_count() {
    let (ok, stdout, stderr) = vit(&["models"]);
    assert!(ok, "{stderr}");
    for (name, params, input) in [
        ("vit_tiny_patch16_224", "5,717,416", "224x224"),
        ("vit_small_patch16_224", "22,050,664", "224x224"),
        ("vit_base_patch16_224", "86,567,656", "224x224"),
        ("vit_base_patch32_224", "88,224,232", "224x224"),
        ("vit_large_patch16_224", "304,326,632", "224x224"),
        ("vit_huge_patch14_224", "630,764,800", "224x224"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{stdout}"));
        assert!(line.contains(params) && line.contains(input), "{line}");
    }
    let base = stdout
        .lines()
        .find(|l| l.starts_with("vit_base_patch16_224"))
        .unwrap();
    assert!(
        base.contains("17.56"),
        "ViT-B/16 should cost 17.56 GMACs: {base}"
    );
}

#[test]
fn config_prints_json_that_check_accepts() {
    let dir = std::env::temp_dir().join(format!("vit-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small.json");
    let (ok, stdout, stderr) = vit(&["config", "vit_small_patch16_224"]);
    assert!(ok, "{stderr}");
    std::fs::write(&path, &stdout).unwrap();
    let (ok, stdout, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("dim 384") && stdout.contains("4.60 GMACs"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_with_a_failing_status() {
    let (ok, _, stderr) = vit(&["config", "vit_gigantic"]);
    assert!(!ok);
    assert!(
        stderr.starts_with("error: unknown model preset `vit_gigantic`"),
        "{stderr}"
    );

    let dir = std::env::temp_dir().join(format!("vit-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typo.json");
    std::fs::write(&path, r#"{"img_size": [224, 230]}"#).unwrap();
    let (ok, _, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("width 230") && stderr.contains("patch size 16"),
        "{stderr}"
    );
    std::fs::write(&path, r#"{"depht": 3}"#).unwrap();
    let (ok, _, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("typo.json") && stderr.contains("depht"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
