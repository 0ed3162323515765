//! `--resume`: a run interrupted after epoch 1 and resumed ends in the same state as the run
//! that was never interrupted. Its own test binary: the backend RNG is process-wide, so no
//! other training may run beside it.

#[path = "suite/common.rs"]
mod common;

use burn::backend::Autodiff;
use burn::tensor::{Tensor, TensorData};
use vit_core::model::VisionModel;
use vit_testing::B;
use vit_train::data::digits::{DigitsDataset, Split};
use vit_train::{Start, train};
use vit_variants::zoo::PretrainedModel;

fn logits(model_dir: &std::path::Path) -> Vec<f32> {
    let model = PretrainedModel::<B>::load(model_dir, None, None, &Default::default()).unwrap();
    let items = DigitsDataset::new(Split::Test).into_items();
    let pixels: Vec<f32> = items[..32]
        .iter()
        .flat_map(|i| {
            let small: Vec<f32> = i.to_unit_f32();
            small
        })
        .collect();
    let images =
        Tensor::<B, 4>::from_data(TensorData::new(pixels, [32, 1, 8, 8]), &Default::default());
    model.model.forward(images).into_data().to_vec().unwrap()
}

#[test]
fn resuming_after_an_interruption_gives_the_uninterrupted_runs_state() {
    let mut config = common::tiny_digits(2);
    // Everything random on: shuffling, shifts, flips, Mixup, random erasing, stochastic depth.
    config.augment.hflip = true;
    config.augment.mixup = Some(Default::default());
    config.augment.random_erasing = Some(Default::default());
    let whole = vit_testing::temp_dir("resume-whole");
    let a = train::<Autodiff<B>>(&config, &whole, Default::default(), Start::Fresh).unwrap();
    assert_eq!(a.history.len(), 2);

    // The state after epoch 1 is what a crash during epoch 2 leaves behind.
    let resumed = vit_testing::temp_dir("resume-part");
    vit_testing::copy_tree(&whole, &resumed);
    for name in ["model-2.mpk", "optim-2.mpk", "scheduler-2.mpk"] {
        std::fs::remove_file(resumed.join("learner/checkpoint").join(name)).unwrap();
    }
    std::fs::remove_dir_all(resumed.join("model")).unwrap();

    let err = train::<Autodiff<B>>(&config, &resumed, Default::default(), Start::Fresh)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--resume"),
        "a fresh start never overwrites a run: {err}"
    );
    let mut other = config.clone();
    other.lr *= 2.0;
    let err = train::<Autodiff<B>>(&other, &resumed, Default::default(), Start::Resume)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train_config.json"), "{err}");

    let b = train::<Autodiff<B>>(&config, &resumed, Default::default(), Start::Resume).unwrap();
    assert_eq!(b.first_epoch, 2);
    assert_eq!(
        b.history.len(),
        2,
        "epoch 1 from the log, epoch 2 trained again"
    );
    let loss = |h: &[vit_train::learner::progress::EpochRecord]| h[1].train["Loss"];
    assert!(
        (loss(&a.history) - loss(&b.history)).abs() < 1e-6,
        "epoch 2 training loss {} vs {}",
        loss(&a.history),
        loss(&b.history)
    );
    let (la, lb) = (logits(&a.model_dir), logits(&b.model_dir));
    let diff = la
        .iter()
        .zip(&lb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(
        diff < 1e-5,
        "same weights after epoch 2: max |Δlogit| {diff}"
    );
    assert_eq!(a.test_accuracy, b.test_accuracy);

    // A finished run is not silently "resumed" into nothing; more epochs extend it.
    let err = train::<Autodiff<B>>(&config, &resumed, Default::default(), Start::Resume)
        .unwrap_err()
        .to_string();
    assert!(err.contains("already finished its 2 epochs"), "{err}");
    let mut longer = config.clone();
    longer.epochs = 3;
    let c = train::<Autodiff<B>>(&longer, &resumed, Default::default(), Start::Resume).unwrap();
    assert_eq!((c.first_epoch, c.history.len()), (3, 3));
    let saved = vit_train::TrainConfig::load(&resumed.join("train_config.json")).unwrap();
    assert_eq!(saved.epochs, 3, "the run's config records the extension");
    std::fs::remove_dir_all(&whole).unwrap();
    std::fs::remove_dir_all(&resumed).unwrap();
}
