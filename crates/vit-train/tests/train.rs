//! vit-train: the embedded data, the schedule, the config, the batcher, and a short real run.

use burn::backend::{Autodiff, NdArray};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use vit_core::VisionTransformerConfig;
use vit_train::batcher::{ImageAugment, ImageBatch, ImageBatcher};
use vit_train::config::TrainConfig;
use vit_train::digits::{DigitsDataset, Split};
use vit_train::schedule::WarmupCosine;
use vit_variants::zoo::ZooConfig;

type B = NdArray<f32>;

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
        assert!(item.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
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
                .map(|i| train.get(i).unwrap().pixels[p])
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
    let err = TrainConfig::load(&path).unwrap_err();
    assert!(
        err.contains("bad.json") && err.contains("unknown field `epoch`"),
        "{err}"
    );
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/train_digits.json");
    assert_eq!(
        TrainConfig::load(&shipped).unwrap(),
        TrainConfig::digits_default()
    );
}

#[test]
fn batcher_resizes_normalises_and_shifts() {
    let item = DigitsDataset::new(Split::Train).get(0).unwrap();
    let plain = ImageBatcher::new([16, 16], vec![0.5], vec![0.5], None, 0);
    let batch: ImageBatch<B> = plain.batch(vec![item.clone(), item.clone()], &Default::default());
    assert_eq!(batch.images.dims(), [2, 1, 16, 16]);
    let values = plain.prepare(&item);
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(values[0], -1.0, "a blank corner maps to (0 - 0.5) / 0.5");
    let shifted = ImageBatcher::new(
        [16, 16],
        vec![0.5],
        vec![0.5],
        Some(ImageAugment {
            crop_padding: 3,
            hflip: false,
        }),
        7,
    );
    let moved = (0..20)
        .map(|_| shifted.prepare(&item))
        .filter(|v| *v != values)
        .count();
    assert!(
        moved > 10,
        "random shifts move the image most of the time ({moved}/20)"
    );
}

#[test]
fn a_short_run_lowers_the_loss_and_saves_a_loadable_model() {
    let mut config = TrainConfig::digits_default();
    config.model = ZooConfig::Vit(
        VisionTransformerConfig::new()
            .with_img_size([8, 8])
            .with_patch_size(4)
            .with_in_chans(1)
            .with_num_classes(10)
            .with_embed_dim(16)
            .with_depth(1)
            .with_num_heads(2),
    );
    config.epochs = 3;
    config.warmup_epochs = 0;
    config.num_workers = 0;
    let dir = std::env::temp_dir().join(format!("vit-train-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let summary = vit_train::train::<Autodiff<B>>(&config, &dir, Default::default()).unwrap();
    assert_eq!(summary.history.len(), 3);
    let loss = |e: usize| summary.history[e].train["Loss"];
    assert!(loss(2) < loss(0), "loss {} -> {}", loss(0), loss(2));
    assert!((0.0..=1.0).contains(&summary.test_accuracy));
    assert_eq!(
        summary.per_class.iter().map(|c| c.images).sum::<usize>(),
        297
    );
    let loaded =
        vit_variants::zoo::load_model::<B>(&summary.model_dir, None, None, &Default::default())
            .unwrap();
    assert_eq!(loaded.label_names.unwrap().len(), 10);
}
