//! Training on WGPU (fusion on, as the `wgpu` feature builds it): a short `vit train` with
//! per-epoch checkpoints ends cleanly and writes a loadable model. Guards the optimiser's
//! checkpoint copy: without it, Burn 0.21's fusion runtime lost tensor handles when
//! burn-train's checkpointer thread read the optimiser state (2 of 4 runs panicked).

#[test]
fn a_short_training_run_on_wgpu_checkpoints_and_saves_the_model() {
    let dir = std::env::temp_dir().join(format!("vit-wgpu-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, stdout, _) = crate::common::vit(&["train", "--print-config"]);
    assert!(ok);
    let mut config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let model = &mut config["model"]["config"];
    model["img_size"] = serde_json::json!([8, 8]);
    model["embed_dim"] = 16.into();
    model["depth"] = 1.into();
    model["num_heads"] = 2.into();
    config["epochs"] = 2.into();
    config["warmup_epochs"] = 0.into();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = dir.join("run");
    let (ok, stdout, stderr) = crate::common::vit(&[
        "--backend",
        "wgpu",
        "train",
        "--config",
        &path.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("test accuracy"), "{stdout}");
    for name in ["model-2.mpk", "optim-2.mpk", "scheduler-2.mpk"] {
        assert!(
            out.join("learner/checkpoint").join(name).is_file(),
            "{name}"
        );
    }
    assert!(out.join("model/model.bpk").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
