//! Short real training runs: the loss goes down and everything is written; early stopping;
//! two CPU devices; fine-tuning a timm checkpoint with a frozen backbone on an image folder;
//! DeiT distillation from a teacher; CIFAR-10 from its binary files.

use std::path::Path;

use vit_core::VisionTransformerConfig;
use vit_core::model::ModelConfig;
use vit_core::weights::state_dict::torch_params;
use vit_testing::{AB, B};
use vit_train::config::DataSpec;
use vit_train::run::finetune::InitSpec;
use vit_train::{Start, train};
use vit_variants::zoo::{PretrainedModel, ZooConfig};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/timm")
        .join(name)
}

#[test]
fn a_short_run_lowers_the_loss_and_writes_model_logs_and_plot() {
    let dir = vit_testing::temp_dir("short");
    let mut config = crate::common::tiny_digits(3);
    config.grad_clip = Some(1.0);
    let summary = train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    assert_eq!(summary.history.len(), 3);
    let loss = |e: usize| summary.history[e].train["Loss"];
    assert!(loss(2) < loss(0), "loss {} -> {}", loss(0), loss(2));
    assert!((0.0..=1.0).contains(&summary.test_accuracy));
    assert_eq!(
        summary.per_class.iter().map(|c| c.images).sum::<usize>(),
        297
    );
    let loaded =
        PretrainedModel::<B>::load(&summary.model_dir, None, None, &Default::default()).unwrap();
    assert_eq!(loaded.label_names.unwrap().len(), 10);
    let csv = std::fs::read_to_string(&summary.log).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("epoch,seconds,train Accuracy"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    let plot = image::open(&summary.plot).unwrap().to_rgb8();
    assert_eq!(plot.dimensions(), (1200, 500));
    let colours: std::collections::HashSet<_> = plot.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 20, "a drawn plot, not a blank one");
    for n in ["model", "optim", "scheduler"] {
        assert!(
            dir.join(format!("learner/checkpoint/{n}-3.mpk")).is_file(),
            "{n}-3"
        );
    }
    assert!(
        !dir.join("learner/checkpoint/.partial/model-3.mpk").exists(),
        "renamed into place"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn early_stopping_ends_the_run_when_the_validation_loss_stalls() {
    let dir = vit_testing::temp_dir("early");
    let mut config = crate::common::tiny_digits(6);
    // A learning rate below f32 resolution: the weights, so the validation loss, never change.
    config.lr = 1e-30;
    config.min_lr = 1e-30;
    config.early_stopping_patience = Some(1);
    let summary = train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    assert!(
        summary.history.len() < 6,
        "stopped after {} epochs",
        summary.history.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_cpu_devices_train_data_parallel() {
    let dir = vit_testing::temp_dir("multi");
    let mut config = crate::common::tiny_digits(2);
    config.devices = 2;
    let summary = train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    assert_eq!(summary.history.len(), 2);
    let loss = |e: usize| summary.history[e].train["Loss"];
    assert!(loss(1) < loss(0), "loss {} -> {}", loss(0), loss(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two classes of 24×24 RGB images: reddish and bluish noise.
fn colour_folder(root: &Path) {
    for (class, channel) in [("blue", 2usize), ("red", 0)] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..12u32 {
            let img = image::RgbImage::from_fn(24, 24, |x, y| {
                let noise = ((x * 31 + y * 17 + i * 7) % 64) as u8;
                let mut p = [noise; 3];
                p[channel] = 160 + noise;
                image::Rgb(p)
            });
            img.save(root.join(class).join(format!("{i}.png"))).unwrap();
        }
    }
    std::fs::write(root.join("red/broken.png"), b"not a png").unwrap();
}

#[test]
fn an_image_folder_whose_test_split_comes_out_empty_is_an_error() {
    let dir = vit_testing::temp_dir("empty-split");
    colour_folder(&dir);
    let spec = DataSpec::ImageFolder {
        train: dir.clone(),
        test: None,
        test_fraction: 0.01,
        on_unreadable: vit_train::data::image_folder::OnUnreadable::Skip,
    };
    let err = spec.load([3, 24, 24]).unwrap_err().to_string();
    assert!(
        err.contains("test split") && err.contains("test_fraction"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fine_tuning_a_timm_checkpoint_with_a_frozen_backbone_trains_only_the_new_head() {
    let dir = vit_testing::temp_dir("finetune");
    colour_folder(&dir.join("images"));
    let mut config = crate::common::tiny_digits(2);
    config.model = None;
    config.init = Some(InitSpec {
        from: fixture("vit_p4_d3_h4"),
        freeze_backbone: true,
    });
    config.data = DataSpec::ImageFolder {
        train: dir.join("images"),
        test: None,
        test_fraction: 0.25,
        on_unreadable: vit_train::data::image_folder::OnUnreadable::Skip,
    };
    // Empty: normalise as the checkpoint's pretrained_cfg says (0.5 for this fixture).
    config.mean = Vec::new();
    config.std = Vec::new();
    config.batch_size = 6;
    config.lr = 1e-2;
    let out = dir.join("run");
    let summary = train::<AB>(&config, &out, Default::default(), Start::Fresh).unwrap();
    assert_eq!(
        summary.trainable_params,
        64 * 2 + 2,
        "only the 2-class head"
    );
    assert!(
        summary.init_report.iter().any(|l| l.contains("head")),
        "{:?}",
        summary.init_report
    );
    assert_eq!(summary.per_class.iter().map(|c| c.images).sum::<usize>(), 6);

    let tuned =
        PretrainedModel::<B>::load(&summary.model_dir, None, None, &Default::default()).unwrap();
    assert_eq!(
        tuned.label_names.as_deref(),
        Some(&["blue".to_string(), "red".to_string()][..])
    );
    assert_eq!(tuned.config.num_classes(), 2);
    assert_eq!(
        tuned.pretrained_cfg.mean,
        vec![0.5; 3],
        "the checkpoint's normalisation"
    );
    let original =
        PretrainedModel::<B>::load(&fixture("vit_p4_d3_h4"), None, Some(2), &Default::default())
            .unwrap();
    let (before, after) = (param_values(&original.model), param_values(&tuned.model));
    for (key, v) in &before {
        if !key.starts_with("head") {
            assert_eq!(v, &after[key], "{key} is frozen");
        }
    }
    assert_ne!(
        before["head.weight"], after["head.weight"],
        "the head trained"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fine_tuning_starts_from_rotary_eva_checkpoints_and_trains_their_backbone() {
    // DINOv3 (fixed rotate-half tables) and RoPE-ViT mixed (learned rotary frequencies): the
    // gradients reach the attention and the frequencies through the rotation.
    for (case, moved) in [
        ("eva_dinov3", "blocks.0.attn.qkv.weight"),
        ("eva_rope_mixed", "rope.freqs"),
    ] {
        let dir = vit_testing::temp_dir("finetune-eva");
        colour_folder(&dir.join("images"));
        let mut config = crate::common::tiny_digits(1);
        config.model = None;
        config.init = Some(InitSpec {
            from: fixture(case),
            freeze_backbone: false,
        });
        config.data = DataSpec::ImageFolder {
            train: dir.join("images"),
            test: None,
            test_fraction: 0.25,
            on_unreadable: vit_train::data::image_folder::OnUnreadable::Skip,
        };
        config.mean = Vec::new();
        config.std = Vec::new();
        config.batch_size = 6;
        config.lr = 1e-2;
        let summary = train::<AB>(&config, &dir.join("run"), Default::default(), Start::Fresh)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let tuned = PretrainedModel::<B>::load(&summary.model_dir, None, None, &Default::default())
            .unwrap();
        assert!(
            matches!(tuned.config, vit_variants::zoo::ZooConfig::Eva(_)),
            "{case}: saved as {:?}",
            tuned.config
        );
        let original =
            PretrainedModel::<B>::load(&fixture(case), None, Some(2), &Default::default()).unwrap();
        let (before, after) = (param_values(&original.model), param_values(&tuned.model));
        assert_ne!(before[moved], after[moved], "{case}: {moved} trained");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Every parameter's values by PyTorch key.
fn param_values(
    model: &vit_variants::zoo::ZooModel<B>,
) -> std::collections::BTreeMap<String, Vec<f32>> {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.val().into_data().to_vec().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    torch_params(model)
        .into_iter()
        .map(|p| p.key)
        .zip(collect.0)
        .collect()
}

#[test]
fn deit_distillation_trains_a_distilled_student_from_a_saved_teacher() {
    let dir = vit_testing::temp_dir("distill");
    let teacher_config = crate::common::tiny_digits(1).model.unwrap();
    let teacher = PretrainedModel::<B> {
        model: teacher_config.try_init(&Default::default()).unwrap(),
        config: teacher_config.clone(),
        pretrained_cfg: teacher_config.default_pretrained_cfg(),
        label_names: None,
        report: Default::default(),
        source: "test teacher".into(),
    };
    teacher.save(&dir.join("teacher")).unwrap();
    let ZooConfig::Vit(vit) = teacher_config else {
        unreachable!()
    };
    let mut config = crate::common::tiny_digits(2);
    config.model = Some(ZooConfig::Vit(vit.with_distilled(true)));
    for kind in ["soft", "hard"] {
        config
            .set(
                "distillation",
                &format!(
                    r#"{{"teacher": "{}", "kind": "{kind}", "tau": 2.0}}"#,
                    dir.join("teacher").display()
                ),
            )
            .unwrap();
        let out = dir.join(kind);
        let summary = train::<AB>(&config, &out, Default::default(), Start::Fresh).unwrap();
        let loss = |e: usize| summary.history[e].train["Loss"];
        assert!(loss(1) < loss(0), "{kind}: loss {} -> {}", loss(0), loss(1));
        let student =
            PretrainedModel::<B>::load(&summary.model_dir, None, None, &Default::default())
                .unwrap();
        assert!(
            matches!(&student.config, ZooConfig::Vit(v) if v.distilled),
            "the saved student is a distilled ViT"
        );
    }
    // A teacher for other classes is refused by name.
    let mut wrong = crate::common::tiny_digits(1).model.unwrap();
    wrong.set_num_classes(4);
    let bad_teacher = PretrainedModel::<B> {
        model: wrong.try_init(&Default::default()).unwrap(),
        config: wrong.clone(),
        pretrained_cfg: wrong.default_pretrained_cfg(),
        label_names: None,
        report: Default::default(),
        source: "test".into(),
    };
    bad_teacher.save(&dir.join("bad")).unwrap();
    config
        .set(
            "distillation",
            &format!(
                r#"{{"teacher": "{}", "kind": "hard"}}"#,
                dir.join("bad").display()
            ),
        )
        .unwrap();
    let err = train::<AB>(&config, &dir.join("x"), Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("distillation.teacher") && err.contains("4 classes"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cifar10_trains_from_its_binary_files() {
    let dir = vit_testing::temp_dir("cifar");
    let bin = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = |label: u8, i: usize| {
        let mut r = vec![label];
        r.extend((0..3072).map(|p| ((p * (label as usize + 1) + i) % 256) as u8));
        r
    };
    for (name, n) in [
        ("data_batch_1.bin", 8),
        ("data_batch_2.bin", 8),
        ("data_batch_3.bin", 8),
        ("data_batch_4.bin", 8),
        ("data_batch_5.bin", 8),
        ("test_batch.bin", 10),
    ] {
        let bytes: Vec<u8> = (0..n).flat_map(|i| record((i % 10) as u8, i)).collect();
        std::fs::write(bin.join(name), bytes).unwrap();
    }
    let mut config = crate::common::tiny_digits(1);
    config.model = Some(ZooConfig::Vit(
        VisionTransformerConfig::new()
            .with_img_size([32, 32])
            .with_patch_size(8)
            .with_num_classes(10)
            .with_embed_dim(16)
            .with_depth(1)
            .with_num_heads(2),
    ));
    config.data = DataSpec::Cifar10 { path: dir.clone() };
    config.mean = vec![0.5; 3];
    config.std = vec![0.5; 3];
    config.augment.hflip = true;
    config.augment.random_resized_crop = Some(Default::default());
    config.augment.rand_augment = Some(Default::default());
    let summary = train::<AB>(&config, &dir.join("run"), Default::default(), Start::Fresh).unwrap();
    assert_eq!(summary.per_class.len(), 10);
    assert_eq!(summary.per_class[0].name, "airplane");
    assert_eq!(
        summary.per_class.iter().map(|c| c.images).sum::<usize>(),
        10
    );
    // A truncated batch file is an error naming it.
    let truncated = std::fs::read(bin.join("data_batch_3.bin")).unwrap();
    std::fs::write(bin.join("data_batch_3.bin"), &truncated[..5000]).unwrap();
    let err = train::<AB>(&config, &dir.join("run2"), Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data_batch_3.bin") && err.contains("record 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_run_on_a_locked_folder_is_refused_with_the_holder_named() {
    let dir = vit_testing::temp_dir("locked");
    // This test holds the folder as a concurrent `vit train -o DIR` would.
    let lock = vit_train::run::lock::RunLock::acquire(&dir).unwrap();
    let config = crate::common::tiny_digits(1);
    let err = train::<AB>(&config, &dir, Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("in use by another training run")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(!dir.join("train_config.json").exists(), "nothing written");
    drop(lock);
    // Released (as when the holder exits): the run goes ahead, and a killed write's leftover
    // temporary file is cleaned away, but not a user's file that merely looks like one.
    let orphan = dir.join(".train_config.json.vit-tmp4294967295");
    std::fs::write(&orphan, b"half").unwrap();
    let lookalike = dir.join(".thesis.tex.vit-tmp4294967295");
    std::fs::write(&lookalike, b"chapter 1").unwrap();
    train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    assert!(!orphan.exists() && lookalike.exists());
    assert!(
        !dir.join(".vit-train.lock").exists(),
        "removed when the run ends"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_whose_loss_turns_non_finite_stops_with_an_error_and_saves_no_model() {
    let dir = vit_testing::temp_dir("diverged");
    let mut config = crate::common::tiny_digits(3);
    // Finite and positive, so accepted up front, but (as f32, a subnormal) it turns every
    // non-zero pixel into ±inf: the loss is NaN from the first step, as a diverging learning
    // rate makes it later in a run.
    config.mean = vec![0.0];
    config.std = vec![1e-45];
    let err = train::<AB>(&config, &dir, Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(err.contains("NaN or infinite in epoch 1"), "{err}");
    assert!(!dir.join("model").exists(), "no model saved: {err}");
    let checkpoints = dir.join("learner/checkpoint");
    let left: Vec<_> = std::fs::read_dir(&checkpoints)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().ends_with("-1.mpk")),
        "the diverged epoch's checkpoint is gone: {left:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_epochs_train_metrics_are_its_own_batches() {
    // One batch per epoch: burn-train reports a batch's metrics before its progress, and the
    // first batch of an epoch used to be counted in the previous one — leaving the last
    // epoch's train columns empty.
    let dir = vit_testing::temp_dir("epoch-metrics");
    let mut config = crate::common::tiny_digits(2);
    config.batch_size = 2048;
    let summary = train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    assert_eq!(summary.history.len(), 2);
    for record in &summary.history {
        assert!(
            record.train.contains_key("Loss") && record.valid.contains_key("Loss"),
            "epoch {}: {:?}",
            record.epoch,
            record.train
        );
    }
    // The learning rate logged for epoch 2 is epoch 2's (the schedule has one step per epoch
    // here: warm-up 0, so epoch 1 runs at the peak and epoch 2 below it).
    let lr = |e: usize| summary.history[e].train["Learning Rate"];
    assert!(lr(1) < lr(0), "lr {} then {}", lr(0), lr(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn old_epoch_checkpoints_are_pruned_to_the_last_few_and_the_best() {
    let dir = vit_testing::temp_dir("pruned");
    let mut config = crate::common::tiny_digits(4);
    config.keep_checkpoints = 1;
    train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    let models: Vec<String> = std::fs::read_dir(dir.join("learner/checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("model-"))
        .collect();
    assert!(models.contains(&"model-4.mpk".to_string()), "{models:?}");
    assert!(
        models.len() <= 2,
        "the last one and the best one only: {models:?}"
    );
    config.keep_checkpoints = 0;
    let err = train::<AB>(
        &config,
        &vit_testing::temp_dir("pruned-0"),
        Default::default(),
        Start::Fresh,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("keep_checkpoints"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh run never replaces a previous run's results (nor a user's files named like them)
/// without `--overwrite`; with it, only what a run writes is removed.
#[test]
fn a_fresh_run_never_replaces_earlier_results_without_overwrite() {
    let dir = vit_testing::temp_dir("no-overwrite");
    let users = dir.join("metrics.csv");
    std::fs::write(&users, b"the user's own numbers").unwrap();
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    let config = crate::common::tiny_digits(1);
    let err = train::<AB>(&config, &dir, Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already holds results (metrics.csv)") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(&users).unwrap(), b"the user's own numbers");
    assert!(
        !dir.join(".vit-train.lock").exists(),
        "the lock goes with the run"
    );
    train::<AB>(&config, &dir, Default::default(), Start::Overwrite).unwrap();
    assert_ne!(std::fs::read(&users).unwrap(), b"the user's own numbers");
    assert_eq!(std::fs::read(&notes).unwrap(), b"keep me");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A torn checkpoint (burn-train panics reading one) is an error naming the file on resume.
#[test]
fn resuming_from_a_torn_checkpoint_is_an_error_naming_the_file() {
    let dir = vit_testing::temp_dir("torn-checkpoint");
    let mut config = crate::common::tiny_digits(1);
    train::<AB>(&config, &dir, Default::default(), Start::Fresh).unwrap();
    let model = dir.join("learner/checkpoint/model-1.mpk");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    config.epochs = 2;
    let err = train::<AB>(&config, &dir, Default::default(), Start::Resume)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model-1.mpk") && err.contains("cannot be read"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Device counts the machine cannot run are refused before anything is written.
#[test]
fn more_devices_than_the_machine_runs_are_refused() {
    let cores = std::thread::available_parallelism().unwrap().get();
    for (devices, needle) in [(100_000, "at most 1024"), (cores + 1, "core(s)")] {
        let dir = vit_testing::temp_dir(&format!("devices-{devices}"));
        let mut config = crate::common::tiny_digits(1);
        config.devices = devices;
        let err = train::<AB>(&config, &dir, Default::default(), Start::Fresh)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("devices") && err.contains(needle),
            "{devices}: {err}"
        );
        assert!(!dir.join("train_config.json").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
