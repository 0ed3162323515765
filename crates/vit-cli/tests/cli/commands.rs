//! The `vit` binary as a user runs it.

use crate::common::vit;

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
        ("deit_small_distilled_patch16_224", "22,436,432", "224x224"),
        ("swin_tiny_patch4_window7_224", "28,288,354", "224x224"),
        ("swin_base_patch4_window12_384", "87,903,584", "384x384"),
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
    for (preset, expect) in [
        (
            "vit_small_patch16_224",
            "ok: vit at 3x224x224, 1000 classes, 4.60 GMACs",
        ),
        (
            "deit_small_distilled_patch16_224",
            "ok: deit at 3x224x224, 1000 classes, 4.62 GMACs",
        ),
        (
            "swin_tiny_patch4_window7_224",
            "ok: swin at 3x224x224, 1000 classes, 4.49 GMACs",
        ),
    ] {
        let path = dir.join(format!("{preset}.json"));
        let (ok, stdout, stderr) = vit(&["config", preset]);
        assert!(ok, "{stderr}");
        std::fs::write(&path, &stdout).unwrap();
        let (ok, check, stderr) = vit(&["check", path.to_str().unwrap()]);
        assert!(ok, "{stderr}");
        assert_eq!(check.trim(), expect);
        // The same text is a `model` for training (ViT's plain form included), and a partial
        // one keeps the family's defaults for what it leaves out.
        let (ok, printed, stderr) = vit(&[
            "train",
            "--set",
            &format!("model={}", stdout.trim()),
            "--print-config",
        ]);
        assert!(ok, "{preset}: {stderr}");
        let config: serde_json::Value = serde_json::from_str(&printed).unwrap();
        let swin = config["model"]["family"] == "swin";
        assert_eq!(swin, preset.starts_with("swin"), "{printed}");
        assert_eq!(config["model"]["config"]["num_classes"], 1000, "{printed}");
    }
    let (ok, printed, stderr) = vit(&["train", "--set", r#"model={"depth": 2}"#, "--print-config"]);
    assert!(ok, "{stderr}");
    let config: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(config["model"]["config"]["depth"], 2);
    assert_eq!(
        config["model"]["config"]["embed_dim"], 768,
        "ViT-B's default for the rest"
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

    let dir = std::env::temp_dir().join(format!("vit-cli-forward-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typo.json");
    // As in timm, a side that is not a multiple of the patch builds; the check says what the
    // strided convolution drops.
    std::fs::write(&path, r#"{"img_size": [224, 230]}"#).unwrap();
    let (ok, stdout, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("width 230") && stdout.contains("patch size 16") && stdout.contains("224"),
        "{stdout}"
    );
    std::fs::write(&path, r#"{"img_size": [224, 8]}"#).unwrap();
    let (ok, _, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(!ok && stderr.contains("width 8"), "{stderr}");
    std::fs::write(&path, r#"{"depht": 3}"#).unwrap();
    let (ok, _, stderr) = vit(&["check", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("typo.json") && stderr.contains("depht"),
        "{stderr}"
    );
    assert!(!crate::panicked(&stderr), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A committed timm fixture's path, as an argument.
pub(crate) fn fixture(path: &str) -> String {
    vit_testing::timm_fixture(path).display().to_string()
}

/// The shape and values of a `.npy` file, read by the `vit` binary's own reader.
pub(crate) fn read_npy(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let array = vit_core::npy::read(path).unwrap();
    (array.shape, array.data)
}

/// Largest absolute difference of two arrays of the same length.
pub(crate) fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn forward_writes_timms_logits_and_convert_keeps_them() {
    let dir = std::env::temp_dir().join(format!("vit-cli-forward-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("logits.npy");
    let input = fixture("vit_cls/input.npy");
    let (_, expected) = read_npy(std::path::Path::new(&fixture("vit_cls/logits.npy")));

    let model = fixture("vit_cls");
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &model,
        "-i",
        &input,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (shape, logits) = read_npy(&out);
    assert_eq!(shape, [2, 10]);
    assert!(max_diff(&logits, &expected) <= 1e-4);

    let converted = dir.join("converted");
    let (ok, _, stderr) = vit(&["convert", "-m", &model, "-o", converted.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let out2 = dir.join("converted.npy");
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        converted.to_str().unwrap(),
        "-i",
        &input,
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(read_npy(&out2).1, logits);

    // A bare checkpoint with the timm config beside it, in batches of one.
    let out3 = dir.join("bare.npy");
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &fixture("vit_cls/model.safetensors"),
        "--config",
        &fixture("vit_cls/config.json"),
        "-i",
        &input,
        "-o",
        out3.to_str().unwrap(),
        "--batch-size",
        "1",
    ]);
    assert!(ok, "{stderr}");
    assert!(max_diff(&read_npy(&out3).1, &expected) <= 1e-4);
}

#[test]
fn forward_reports_bad_inputs_by_name() {
    let dir = std::env::temp_dir().join(format!("vit-cli-forward-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"\x93NUMPY\x01\x00").unwrap();
    let out = dir.join("out.npy");
    let model = fixture("vit_cls");
    for (args, needle) in [
        (vec!["-m", &model, "-i", bad.to_str().unwrap()], "bad.npy"),
        (
            vec![
                "-m",
                "/nonexistent/model.safetensors",
                "--preset",
                "vit_tiny_patch16_224",
                "-i",
                &fixture("vit_cls/input.npy"),
            ],
            "/nonexistent/model.safetensors",
        ),
        (
            vec![
                "-m",
                &fixture("vit_cls/model.safetensors"),
                "-i",
                &fixture("vit_cls/input.npy"),
            ],
            "preset or a config file",
        ),
        (
            vec![
                "-m",
                &fixture("vit_cls/model.safetensors"),
                "--preset",
                "vit_tiny_patch16_224",
                "-i",
                &fixture("vit_cls/input.npy"),
            ],
            "does not fit the model",
        ),
    ] {
        let mut full = vec!["forward", "-o", out.to_str().unwrap()];
        full.extend(args);
        let (ok, _, stderr) = vit(&full);
        assert!(!ok, "{full:?} should fail");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(needle),
            "{full:?}: {stderr}"
        );
        assert!(!crate::panicked(&stderr), "{stderr}");
    }
    assert!(!out.exists(), "nothing is written on failure");
}

#[test]
fn train_overrides_fields_and_names_the_unknown_ones() {
    let (ok, stdout, stderr) = vit(&[
        "train",
        "--print-config",
        "--epochs",
        "7",
        "--set",
        "augment.hflip=true",
        "--set",
        "grad_clip=1.5",
    ]);
    assert!(ok, "{stderr}");
    let config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(config["epochs"], 7);
    assert_eq!(config["augment"]["hflip"], true);
    assert_eq!(config["grad_clip"], 1.5);
    let (ok, _, stderr) = vit(&["train", "--print-config", "--set", "augment.flip=true"]);
    assert!(
        !ok && stderr.contains("flip") && !crate::panicked(&stderr),
        "{stderr}"
    );
    let (ok, _, stderr) = vit(&["train", "--print-config", "--set", "lr"]);
    assert!(!ok && stderr.contains("FIELD=VALUE"), "{stderr}");
    let empty = std::env::temp_dir().join(format!("vit-cli-resume-{}", std::process::id()));
    let (ok, _, stderr) = vit(&["train", "--resume", "-o", &empty.display().to_string()]);
    assert!(
        !ok && stderr.contains("train_config.json"),
        "nothing to resume: {stderr}"
    );
}

#[test]
fn forward_refuses_empty_batches_and_zero_batch_sizes_and_warns_on_nan() {
    let dir = std::env::temp_dir().join(format!("vit-cli-forward-edges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = fixture("vit_cls");
    let input = fixture("vit_cls/input.npy");
    let out = dir.join("out.npy");

    // An array of shape [0, C, H, W]: a clear error, not an index panic.
    let (shape, _) = read_npy(std::path::Path::new(&input));
    let mut empty_shape = shape.clone();
    empty_shape[0] = 0;
    let empty = dir.join("empty.npy");
    let bytes = vit_core::npy::encode(&vit_core::npy::Array {
        shape: empty_shape,
        data: vec![],
    });
    std::fs::write(&empty, bytes).unwrap();
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &model,
        "-i",
        empty.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.contains("holds no images") && !crate::panicked(&stderr),
        "{stderr}"
    );

    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &model,
        "-i",
        &input,
        "-o",
        out.to_str().unwrap(),
        "--batch-size",
        "0",
    ]);
    assert!(!ok && stderr.contains("batch-size"), "{stderr}");
    assert!(!out.exists());

    // NaN in the input: a warning on standard error, the run itself goes on.
    let (shape, mut data) = read_npy(std::path::Path::new(&input));
    data[0] = f32::NAN;
    let nan = dir.join("nan.npy");
    std::fs::write(
        &nan,
        vit_core::npy::encode(&vit_core::npy::Array { shape, data }),
    )
    .unwrap();
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &model,
        "-i",
        nan.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        ok && stderr.contains("warning") && stderr.contains("NaN or infinite"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn forward_writes_to_standard_output_and_through_symlinks() {
    let dir = std::env::temp_dir().join(format!("vit-cli-forward-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = fixture("vit_cls");
    let input = fixture("vit_cls/input.npy");

    let (ok, stdout, stderr) = vit(&["forward", "-m", &model, "-i", &input, "-o", "-"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("NUMPY") && stderr.contains("standard output"),
        "{stderr}"
    );

    let real = dir.join("real.npy");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.join("link.npy");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &model,
        "-i",
        &input,
        "-o",
        link.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays"
    );
    assert!(
        std::fs::read(&real).unwrap().starts_with(b"\x93NUMPY"),
        "the target got the array"
    );
}

#[test]
fn missing_models_and_negative_values_get_errors_that_say_so() {
    let input = fixture("vit_cls/input.npy");
    let out = std::env::temp_dir().join(format!("vit-cli-missing-{}.npy", std::process::id()));
    let out = out.to_str().unwrap();
    // (Timm names and hub ids that are not cached: tests/cli/hub.rs, offline.)
    for model in ["/nonexistent/model.safetensors", "missing_model_folder"] {
        let (ok, _, stderr) = vit(&["forward", "-m", model, "-i", &input, "-o", out]);
        assert!(
            !ok && stderr.contains(model) && stderr.contains("no such file or folder"),
            "{stderr}"
        );
        assert!(!stderr.contains("bare weights file"), "{stderr}");
    }
    let run = std::env::temp_dir().join(format!("vit-cli-negative-lr-{}", std::process::id()));
    let (ok, _, stderr) = vit(&[
        "train",
        "--lr",
        "-1",
        "--epochs",
        "1",
        "-o",
        run.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("lr must be"), "{stderr}");
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn the_readmes_models_table_is_what_vit_models_prints() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let block = readme
        .split("`vit models` prints")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("the README shows `vit models` output");
    let (ok, stdout, stderr) = vit(&["models"]);
    assert!(ok, "{stderr}");
    let printed: Vec<&str> = stdout.lines().collect();
    for line in block
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
    {
        assert!(
            printed.contains(&line),
            "README line not in the output: {line:?}"
        );
    }
}

#[test]
fn fine_tuning_and_other_data_are_one_flag_each() {
    let dir = std::env::temp_dir().join(format!("vit-cli-finetune-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // An image folder of two colour classes.
    for (class, colour) in [("red", [220u8, 30, 30]), ("blue", [30u8, 30, 220])] {
        std::fs::create_dir_all(dir.join("images").join(class)).unwrap();
        for i in 0..6u8 {
            let img = image::RgbImage::from_fn(20, 20, |x, y| {
                image::Rgb(colour.map(|c| c.saturating_add(((x + y) as u8 + i) % 20)))
            });
            img.save(dir.join("images").join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let images = format!("image-folder:{}", dir.join("images").display());

    // --init alone: the architecture and the normalisation come from the checkpoint.
    let model = fixture("vit_cls");
    let (ok, stdout, stderr) = vit(&[
        "train",
        "--init",
        &model,
        "--data",
        &images,
        "--print-config",
    ]);
    assert!(ok, "{stderr}");
    let config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(config["model"].is_null(), "{stdout}");
    assert_eq!(config["init"]["from"], model.as_str());
    assert_eq!(config["mean"], serde_json::json!([]));
    assert_eq!(config["data"]["kind"], "image_folder", "{stdout}");

    // And it trains, with no other flag.
    let run = dir.join("run");
    let (ok, stdout, stderr) = vit(&[
        "train",
        "--init",
        &model,
        "--data",
        &images,
        "--epochs",
        "1",
        "-o",
        run.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("test accuracy"), "{stdout}");

    // --data cifar10:PATH on the default model: RGB, 32×32, CIFAR's statistics.
    let (ok, stdout, stderr) = vit(&["train", "--data", "cifar10:/data/cifar", "--print-config"]);
    assert!(ok, "{stderr}");
    let config: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(config["model"]["config"]["in_chans"], 3, "{stdout}");
    assert_eq!(config["mean"].as_array().unwrap().len(), 3);

    let (ok, _, stderr) = vit(&["train", "--data", "cifar10", "--print-config"]);
    assert!(!ok && stderr.contains("cifar10:PATH"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn hub_ids_load_from_the_python_clients_cache_without_network() {
    // The layout huggingface_hub writes: refs/main names a commit, snapshots/<commit>/ holds
    // the files (symlinks into blobs/).
    let cache = std::env::temp_dir().join(format!("vit-cli-hub-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo = cache.join("models--timm--tiny_test_vit");
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    let folder = std::path::PathBuf::from(fixture("vit_cls"));
    for file in ["config.json", "model.safetensors"] {
        let blob = repo.join("blobs").join(file);
        std::fs::copy(folder.join(file), &blob).unwrap();
        std::os::unix::fs::symlink(&blob, snapshot.join(file)).unwrap();
    }
    let input = fixture("vit_cls/input.npy");
    let out = cache.join("out.npy");
    let run = |model: &str| {
        let out_s = out.to_str().unwrap().to_string();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_vit"))
            .args(["forward", "-m", model, "-i", &input, "-o", &out_s])
            .env("HF_HUB_CACHE", &cache)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, stderr) = run("hf-hub:timm/tiny_test_vit");
    assert!(ok, "{stderr}");
    let (_, via_hub) = read_npy(&out);
    let (ok, stderr) = run(&format!("timm/tiny_test_vit@{commit}"));
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = vit(&[
        "forward",
        "-m",
        &fixture("vit_cls"),
        "-i",
        &input,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (_, direct) = read_npy(&out);
    assert_eq!(via_hub, direct, "the cached snapshot is the same model");
    let (ok, stderr) = run("timm/not_downloaded");
    assert!(
        !ok && stderr.contains("timm/not_downloaded") && stderr.contains("Hugging Face cache"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
#[cfg(unix)]
fn a_closed_standard_output_ends_the_command_quietly() {
    // `vit … | head`: the reader is gone before the first write.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let bin = std::env::var_os("VIT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vit").into());
    let out = std::process::Command::new(bin)
        .args(["models"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!crate::panicked(&stderr), "{stderr}");
    assert!(!out.status.success());
}
