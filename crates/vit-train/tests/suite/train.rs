//! vit-train: the embedded data, the schedule, the config and the batcher (short runs are in
//! `runs.rs`).

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use vit_testing::B;
use vit_train::config::{AugmentConfig, TrainConfig};
use vit_train::data::batcher::{ImageBatch, ImageBatcher};
use vit_train::data::digits::{DigitsDataset, Split};
use vit_train::data::epoch_data::{EpochShuffled, Sample};
use vit_train::optim::schedule::WarmupCosine;

#[test]
fn embedded_digits_have_the_fixed_split_and_all_classes() {
    let train = DigitsDataset::new(Split::Train);
    let test = DigitsDataset::new(Split::Test);
    assert_eq!((train.len(), test.len()), (1500, 297));
    let mut seen = [0usize; 10];
    for i in 0..test.len() {
        let item = test.get(i).unwrap();
        assert_eq!(
            (item.channels, item.height, item.width, item.pixels.len()),
            (1, 8, 8, 64)
        );
        seen[item.label] += 1;
    }
    assert!(
        seen.iter().all(|&n| n >= 15),
        "every class in the test split: {seen:?}"
    );
    // Real images, not noise: the mean digit has ink in the middle and none in the corners.
    let mean: Vec<f32> = (0..64)
        .map(|p| {
            (0..train.len())
                .map(|i| train.get(i).unwrap().pixels[p] as f32 / 255.0)
                .sum::<f32>()
                / 1500.0
        })
        .collect();
    assert!(mean[3 * 8 + 3] > 0.3 && mean[0] < 0.05, "{mean:?}");
}

#[test]
fn schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor() {
    let s = WarmupCosine {
        base_lr: 1e-3,
        min_lr: 1e-5,
        warmup_steps: 10,
        total_steps: 110,
        step: 0,
    };
    assert!((s.lr_at(0) - 1e-4).abs() < 1e-12);
    assert!((s.lr_at(9) - 1e-3).abs() < 1e-12);
    assert!(
        (s.lr_at(60) - (1e-5 + 0.5 * (1e-3 - 1e-5))).abs() < 1e-12,
        "half-way is the midpoint"
    );
    assert!((s.lr_at(110) - 1e-5).abs() < 1e-12 && (s.lr_at(500) - 1e-5).abs() < 1e-12);
    let lrs: Vec<f64> = (10..110).map(|i| s.lr_at(i)).collect();
    assert!(lrs.windows(2).all(|w| w[1] <= w[0]));
}

#[test]
fn config_rejects_unknown_fields_by_name_and_the_shipped_file_is_the_default() {
    let mut value = serde_json::to_value(TrainConfig::digits_default()).unwrap();
    value["epoch"] = serde_json::json!(3);
    let dir = std::env::temp_dir().join(format!("vit-train-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, value.to_string()).unwrap();
    let err = TrainConfig::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad.json") && err.contains("unknown field `epoch`"),
        "{err}"
    );
    value.as_object_mut().unwrap().remove("epoch");
    value["augment"]["mixup"] = serde_json::json!({"alpha": 0.2});
    std::fs::write(&path, value.to_string()).unwrap();
    let err = TrainConfig::load(&path).unwrap_err().to_string();
    assert!(err.contains("unknown field `alpha`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/train_digits.json");
    assert_eq!(
        TrainConfig::load(&shipped).unwrap(),
        TrainConfig::digits_default()
    );
}

#[test]
fn set_overrides_one_field_by_path_and_rejects_unknown_ones() {
    let mut config = TrainConfig::digits_default();
    config.set("lr", "0.01").unwrap();
    config.set("augment.hflip", "true").unwrap();
    config.set("augment.mixup", "{}").unwrap();
    config
        .set("data", r#"{"kind": "cifar10", "path": "/data/cifar"}"#)
        .unwrap();
    config.set("grad_clip", "1.0").unwrap();
    assert_eq!(config.lr, 0.01);
    assert!(config.augment.hflip);
    assert_eq!(config.augment.mixup, Some(Default::default()));
    assert_eq!(config.grad_clip, Some(1.0));
    assert!(matches!(
        config.data,
        vit_train::config::DataSpec::Cifar10 { .. }
    ));
    let err = config.set("augment.hlfip", "true").unwrap_err().to_string();
    assert!(err.contains("hlfip"), "{err}");
    let err = config.set("lr", "fast").unwrap_err().to_string();
    assert!(err.contains("--set lr"), "{err}");
}

#[test]
fn validation_names_the_field_at_fault() {
    let config = TrainConfig::digits_default();
    let model = config.model.clone().unwrap();
    let check = |edit: &dyn Fn(&mut TrainConfig)| {
        let mut c = config.clone();
        edit(&mut c);
        c.validate(&model).unwrap_err().to_string()
    };
    assert!(check(&|c| c.grad_clip = Some(0.0)).contains("grad_clip"));
    assert!(check(&|c| c.drop_path_rate = Some(1.5)).contains("drop_path_rate"));
    assert!(check(&|c| c.label_smoothing = 1.0).contains("label_smoothing"));
    assert!(
        check(&|c| c.data = vit_train::config::DataSpec::Cifar10 { path: "x".into() })
            .contains("in_chans = 3")
    );
    let err = check(&|c| {
        c.set("distillation", r#"{"teacher": "t", "kind": "soft"}"#)
            .unwrap()
    });
    assert!(
        err.contains("distillation.kind") && err.contains("deit"),
        "{err}"
    );
    let err = check(&|c| c.set("augment.random_erasing", r#"{"prob": 2.0}"#).unwrap());
    assert!(err.contains("prob"), "{err}");
    // Non-finite and out-of-range hyper-parameters are refused before anything trains (an lr
    // of inf or 1e6 used to train to NaN and exit 0).
    for lr in [f64::INFINITY, f64::NAN, 1e6, 0.0, -1.0] {
        assert!(check(&|c| c.lr = lr).contains("lr must be"), "lr {lr}");
    }
    assert!(check(&|c| c.min_lr = f64::NAN).contains("min_lr"));
    assert!(check(&|c| c.weight_decay = f64::INFINITY).contains("weight_decay"));
    assert!(check(&|c| c.grad_clip = Some(f64::INFINITY)).contains("grad_clip"));
    assert!(check(&|c| c.label_smoothing = f64::NAN).contains("label_smoothing"));
    // A batch whose activations cannot fit is refused up front, naming batch_size.
    let big = vit_variants::zoo_preset("vit_base_patch16_224").unwrap();
    let mut c = config.clone();
    c.batch_size = 65536;
    c.mean = vec![0.5; 3];
    c.std = vec![0.5; 3];
    let err_big = c.validate(&big).unwrap_err().to_string();
    assert!(
        err_big.contains("batch_size") && err_big.contains("memory"),
        "{err_big}"
    );
}

#[test]
fn short_runs_shorten_the_warm_up_instead_of_failing() {
    let config = TrainConfig::digits_default();
    let model = config.model.clone().unwrap();
    assert_eq!(config.effective_warmup_epochs(), 3);
    for (epochs, warmup) in [(1, 0), (2, 1), (3, 2), (4, 3)] {
        let mut c = config.clone();
        c.epochs = epochs;
        c.validate(&model).unwrap();
        assert_eq!(c.effective_warmup_epochs(), warmup, "{epochs} epochs");
    }
}

fn sample(image: &vit_train::data::image_item::ImageItem, seed: u64) -> Sample {
    Sample {
        image: image.clone(),
        seed,
    }
}

#[test]
fn batcher_resizes_normalises_and_augments_from_the_sample_seed() {
    let item = DigitsDataset::new(Split::Train).get(0).unwrap();
    let plain = ImageBatcher::new([16, 16], vec![0.5], vec![0.5]);
    let batch: ImageBatch<B> = plain.batch(
        vec![sample(&item, 1), sample(&item, 2)],
        &Default::default(),
    );
    assert_eq!(batch.images.dims(), [2, 1, 16, 16]);
    assert!(batch.targets.is_none());
    let values = plain.prepare(&item, 0);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(values[0], -1.0, "a blank corner maps to (0 - 0.5) / 0.5");
    let shifted = plain.clone().with_augment(
        AugmentConfig {
            crop_padding: 3,
            ..Default::default()
        },
        10,
        0.0,
    );
    let moved = (0..20)
        .map(|seed| shifted.prepare(&item, seed))
        .filter(|v| *v != values)
        .count();
    assert!(
        moved > 10,
        "random shifts move the image most of the time ({moved}/20)"
    );
    assert_eq!(
        shifted.prepare(&item, 5),
        shifted.prepare(&item, 5),
        "seeded"
    );
}

#[test]
fn every_augmentation_keeps_shapes_and_mixup_targets_sum_to_one() {
    let data = DigitsDataset::new(Split::Train);
    let items: Vec<Sample> = (0..6)
        .map(|i| sample(&data.get(i).unwrap(), i as u64))
        .collect();
    let mut augment = AugmentConfig {
        crop_padding: 2,
        hflip: true,
        ..Default::default()
    };
    augment.random_resized_crop = Some(Default::default());
    augment.rand_augment = Some(Default::default());
    augment.random_erasing = Some(vit_train::augment::RandomErasingConfig {
        prob: 1.0,
        ..Default::default()
    });
    augment.mixup = Some(Default::default());
    let batcher = ImageBatcher::new([16, 16], vec![0.5], vec![0.5]).with_augment(augment, 10, 0.1);
    let batch: ImageBatch<B> = batcher.batch(items, &Default::default());
    assert_eq!(batch.images.dims(), [6, 1, 16, 16]);
    let values = batch.images.into_data().to_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| v.is_finite()));
    let targets = batch.targets.expect("mixup makes soft targets");
    assert_eq!(targets.dims(), [6, 10]);
    let targets = targets.into_data().to_vec::<f32>().unwrap();
    for row in targets.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        assert!(row.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn shuffling_depends_on_seed_and_epoch_only_so_a_resume_sees_the_same_order() {
    let items = DigitsDataset::new(Split::Test).into_items();
    let fresh = EpochShuffled::new(items.clone(), 3, 1);
    let resumed = EpochShuffled::new(items.clone(), 3, 2);
    let n = items.len();
    let epoch1: Vec<Sample> = (0..n).map(|i| fresh.get(i).unwrap()).collect();
    let epoch2: Vec<Sample> = (0..n).map(|i| fresh.get(i).unwrap()).collect();
    let resumed2: Vec<Sample> = (0..n).map(|i| resumed.get(i).unwrap()).collect();
    assert_ne!(epoch1, epoch2, "each epoch has its own order");
    assert_eq!(
        epoch2, resumed2,
        "a run resumed at epoch 2 sees epoch 2's order and seeds"
    );
    let mut labels: Vec<usize> = epoch2.iter().map(|s| s.image.label).collect();
    let mut original: Vec<usize> = items.iter().map(|i| i.label).collect();
    labels.sort();
    original.sort();
    assert_eq!(labels, original, "a permutation");
}

#[test]
fn early_stopping_patience_counts_from_the_best_epoch_of_the_logged_history() {
    use vit_train::learner::early_stopping::ValidLossPatience;
    use vit_train::learner::progress::EpochRecord;
    let record = |epoch, loss| EpochRecord {
        epoch,
        valid: [("Loss".to_string(), loss)].into(),
        ..Default::default()
    };
    // Best at epoch 2; the resumed run sees epoch 4 (no better): 2 epochs without improvement.
    let history = [record(1, 1.0), record(2, 0.5), record(3, 0.7)];
    let mut resumed = ValidLossPatience::new(2, &history);
    assert_eq!(resumed.best_epoch(), 2);
    assert!(!resumed.stopped_at(3));
    assert!(
        resumed.observe(4, 0.6),
        "stops: nothing better since epoch 2"
    );
    let mut fresh = ValidLossPatience::new(2, &[]);
    assert!(!fresh.observe(1, 1.0) && !fresh.observe(2, 0.9) && !fresh.observe(3, 0.95));
    assert!(fresh.observe(4, 0.91));
    assert!(
        ValidLossPatience::new(1, &history).stopped_at(3),
        "already stopped at epoch 3"
    );
}

#[test]
fn training_resizes_a_cifar_image_exactly_as_predict_does() {
    // A 32×32 RGB image for a 16×16 model: training used to resize without antialiasing and
    // `vit predict` with Pillow's filter (47 % vs 57 % reported on the same images).
    let (h, w) = (32usize, 32usize);
    let pixels: Vec<u8> = (0..3 * h * w)
        .map(|i| ((i * 37 + (i / 7) * 11) % 256) as u8)
        .collect();
    let item = vit_train::data::image_item::ImageItem {
        pixels: pixels.clone(),
        channels: 3,
        height: h,
        width: w,
        label: 0,
    };
    let (mean, std) = (vec![0.49f32, 0.48, 0.45], vec![0.25f32, 0.24, 0.26]);
    let trained = ImageBatcher::new([16, 16], mean.clone(), std.clone()).prepare(&item, 0);

    // What a model saved by `vit train` records and `vit predict` applies (run::save_results).
    let mut cfg = vit_core::preprocess::PretrainedCfg::imagenet_default(3, [16, 16]);
    cfg.crop_pct = 1.0;
    cfg.crop_mode = "squash".into();
    cfg.interpolation = "bilinear".into();
    cfg.mean = mean.iter().map(|&v| v as f64).collect();
    cfg.std = std.iter().map(|&v| v as f64).collect();
    let interleaved: Vec<u8> = (0..h * w)
        .flat_map(|i| (0..3).map(move |c| c * h * w + i))
        .map(|at| pixels[at])
        .collect();
    let predicted = cfg
        .eval_transform([16, 16])
        .apply(&interleaved, [h, w])
        .unwrap();
    assert_eq!(trained.len(), predicted.len());
    let diff = trained
        .iter()
        .zip(&predicted)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff <= 1e-5,
        "training and predict preprocess differ by {diff}"
    );
}
