//! Training on the GPU backends (fusion on, as the `wgpu`/`cuda` features build them): a short
//! `vit train` with per-epoch checkpoints ends cleanly, writes a loadable model, and `--resume
//! --epochs 3` continues it from its last checkpoint. Guards the optimiser's checkpoint copy:
//! without it, Burn 0.21's fusion runtime lost tensor handles when burn-train's checkpointer
//! thread read the optimiser state (2 of 4 runs panicked on WGPU). And mixed-precision training
//! where the device has the type.

use crate::common::{tiny_train_config, vit};

/// The default run's config shrunk to seconds (8×8 input, one block of width 16), for `epochs`,
/// written into `dir`; its path.
fn tiny_config(dir: &std::path::Path, epochs: usize) -> std::path::PathBuf {
    let config = tiny_train_config(epochs);
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("tiny.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

fn short_training_run_checkpoints_saves_and_resumes(backend: &str) {
    let dir = std::env::temp_dir().join(format!("vit-{backend}-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = tiny_config(&dir, 2);
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

/// One epoch of the tiny run in each half precision the device has (the others must be refused
/// by name): training ends, and the model is saved.
fn mixed_precision_training_runs_or_is_refused(backend: &str) {
    let dir = std::env::temp_dir().join(format!("vit-{backend}-mixed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = tiny_config(&dir, 1);
    for precision in ["bf16", "f16"] {
        let out = dir.join(precision);
        let (ok, stdout, stderr) = vit(&[
            "--backend",
            backend,
            "train",
            "--config",
            &path.display().to_string(),
            "--precision",
            precision,
            "-o",
            &out.display().to_string(),
        ]);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if !ok {
            // Printed for the GPU check's log.
            println!("{backend} {precision}: refused: {stderr}");
            assert!(
                stderr.contains(&format!("precision {precision} needs a backend")),
                "{stderr}"
            );
            continue;
        }
        println!(
            "{backend} {precision}: {}",
            stdout.lines().next().unwrap_or("")
        );
        assert!(stdout.contains("test accuracy"), "{stdout}");
        assert!(out.join("model/model.bpk").is_file());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "wgpu")]
#[test]
fn mixed_precision_training_on_wgpu_runs_or_is_refused_by_name() {
    mixed_precision_training_runs_or_is_refused("wgpu");
}

#[cfg(feature = "cuda")]
#[test]
fn mixed_precision_training_on_cuda_runs_or_is_refused_by_name() {
    mixed_precision_training_runs_or_is_refused("cuda");
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
