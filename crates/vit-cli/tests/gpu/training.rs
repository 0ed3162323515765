//! Training on the GPU backends (fusion on, as the `wgpu`/`cuda` features build them): a short
//! `vit train` with per-epoch checkpoints ends cleanly, writes a loadable model, and `--resume
//! --epochs 3` continues it from its last checkpoint. Guards the optimiser's checkpoint copy:
//! without it, Burn 0.21's fusion runtime lost tensor handles when burn-train's checkpointer
//! thread read the optimiser state (2 of 4 runs panicked on WGPU).

use crate::common::vit;

fn short_training_run_checkpoints_saves_and_resumes(backend: &str) {
    let dir = std::env::temp_dir().join(format!("vit-{backend}-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, stdout, _) = vit(&["train", "--print-config"]);
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
    let out_arg = out.display().to_string();
    let config_arg = path.display().to_string();
    let (ok, stdout, stderr) = vit(&[
        "--backend",
        backend,
        "train",
        "--config",
        &config_arg,
        "-o",
        &out_arg,
    ]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("test accuracy"), "{stdout}");
    let checkpoints = out.join("learner/checkpoint");
    for name in ["model-2.mpk", "optim-2.mpk", "scheduler-2.mpk"] {
        assert!(checkpoints.join(name).is_file(), "{name}");
    }
    assert!(out.join("model/model.bpk").is_file());

    let (ok, stdout, stderr) = vit(&[
        "--backend",
        backend,
        "train",
        "--resume",
        "--epochs",
        "3",
        "-o",
        &out_arg,
    ]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("after 3 epochs"), "{stdout}");
    assert!(checkpoints.join("model-3.mpk").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "wgpu")]
#[test]
fn a_short_training_run_on_wgpu_checkpoints_saves_the_model_and_resumes() {
    short_training_run_checkpoints_saves_and_resumes("wgpu");
}

#[cfg(feature = "cuda")]
#[test]
fn a_short_training_run_on_cuda_checkpoints_saves_the_model_and_resumes() {
    short_training_run_checkpoints_saves_and_resumes("cuda");
}
