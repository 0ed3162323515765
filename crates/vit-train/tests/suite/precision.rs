//! Mixed-precision training on flex (NdArray has no half types): the default digits run in bf16
//! against f32, f16's loss scale backing off an overflow and continuing (also across a resume),
//! and f32 weights, optimiser state and saved files under every precision.

use std::path::Path;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::Optimizer;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, SimpleOptimizer};
use burn::tensor::{DType, Int, Tensor};
use burn::train::TrainStep;
use burn_store::{BurnpackStore, ModuleStore};
use vit_core::VisionTransformerConfig;
use vit_core::precision::Precision;
use vit_testing::{MixedAB, MixedB, TempDir, pseudo_random};
use vit_train::data::batcher::ImageBatch;
use vit_train::learner::classifier::{Classifier, MixedPrecision};
use vit_train::optim::adamw::{GroupedAdamW, GroupedAdamWConfig};
use vit_train::optim::loss_scale::LossScaler;
use vit_train::{Start, TrainConfig, train};
use vit_variants::zoo::ZooModel;

/// The float types stored in a Burnpack file.
fn stored_dtypes(path: &Path) -> Vec<DType> {
    let mut store = BurnpackStore::from_file(path).auto_extension(false);
    let snapshots = store.get_all_snapshots().unwrap();
    assert!(!snapshots.is_empty());
    snapshots.values().map(|s| s.dtype).collect()
}

/// The default digits run in f32 and in bf16, over three seeds: one run's accuracy moves by
/// ±0.5 points with the seed (97.0–98.7 % seen), as much as the difference being measured, so
/// the means are compared. The runs use one compute thread: multi-threaded float reductions
/// make a run's result depend on thread timing, and the test must not. Six full runs take
/// minutes: the slow tier (`cargo test -p vit-train --test suite -- --ignored`); CI runs
/// [`a_short_bf16_run_learns_and_saves_f32_weights`] in its place.
#[test]
#[ignore = "slow tier: six full digits runs (minutes); run with --ignored"]
fn the_default_digits_run_in_bf16_reaches_the_f32_accuracy_within_one_point() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let [f32, bf16] = one_thread.install(default_digits_mean_accuracies);
    eprintln!(
        "digits mean: f32 {:.2} %, bf16 {:.2} %",
        f32 * 100.0,
        bf16 * 100.0
    );
    assert!(f32 >= 0.95, "f32 {f32}");
    assert!(bf16 >= f32 - 0.01, "bf16 {bf16} vs f32 {f32}");
}

/// Ten epochs of the default run in bf16 and in f32 (one seed, one thread): bf16 training
/// learns — far above the 10 % of chance, as f32 does — saves its weights in f32 and records
/// its precision for --resume. How close bf16 comes to f32 is the slow tier's question (a run
/// this short moves by many points: 66–79 % bf16 and 76–80 % f32 seen here).
#[test]
fn a_short_bf16_run_learns_and_saves_f32_weights() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let [f32, bf16] = one_thread.install(|| {
        [Precision::F32, Precision::Bf16].map(|precision| {
            let dir = TempDir::new(&format!("digits-short-{precision}"));
            let mut config = TrainConfig::digits_default();
            config.epochs = 10;
            config.warmup_epochs = 1;
            config.precision = precision;
            let run = train::<MixedAB>(&config, &dir.0, Default::default(), Start::Fresh).unwrap();
            if precision == Precision::Bf16 {
                let stored = stored_dtypes(&run.model_dir.join("model.bpk"));
                assert!(stored.iter().all(|d| *d == DType::F32), "{stored:?}");
                let saved = TrainConfig::load(&dir.0.join("train_config.json")).unwrap();
                assert_eq!(saved.precision, Precision::Bf16);
            }
            run.test_accuracy
        })
    });
    eprintln!(
        "digits, 10 epochs: f32 {:.2} %, bf16 {:.2} %",
        f32 * 100.0,
        bf16 * 100.0
    );
    assert!(f32 >= 0.5 && bf16 >= 0.5, "f32 {f32}, bf16 {bf16}");
}

/// The mean test accuracy of the default run in f32 and in bf16 over three seeds.
fn default_digits_mean_accuracies() -> [f64; 2] {
    let mut means = [0.0; 2];
    for seed in [42, 7, 2026] {
        for (i, precision) in [Precision::F32, Precision::Bf16].into_iter().enumerate() {
            let dir = TempDir::new(&format!("digits-{precision}-{seed}"));
            let mut config = TrainConfig::digits_default();
            config.seed = seed;
            config.precision = precision;
            let run = train::<MixedAB>(&config, &dir.0, Default::default(), Start::Fresh).unwrap();
            eprintln!(
                "digits seed {seed} {precision}: {:.2} %",
                run.test_accuracy * 100.0
            );
            means[i] += run.test_accuracy / 3.0;
            if precision == Precision::Bf16 && seed == 42 {
                // Saved in f32, and the run records its precision for --resume.
                let stored = stored_dtypes(&run.model_dir.join("model.bpk"));
                assert!(stored.iter().all(|d| *d == DType::F32), "{stored:?}");
                let saved = TrainConfig::load(&dir.0.join("train_config.json")).unwrap();
                assert_eq!(saved.precision, Precision::Bf16);
            }
        }
    }
    means
}

/// The default digits run, shortened, in f16 from a loss scale (2^40) that overflows f16 for sure.
fn overflowing_f16(epochs: usize) -> TrainConfig {
    let mut config = TrainConfig::digits_default();
    config.epochs = epochs;
    config.warmup_epochs = 1;
    config.precision = Precision::F16;
    config.loss_scale.init_scale = 2f64.powi(40);
    config
}

#[test]
fn an_f16_overflow_backs_off_the_loss_scale_skips_the_step_and_training_goes_on() {
    let dir = TempDir::new("f16-overflow");
    let epochs = 6;
    let summary = train::<MixedAB>(
        &overflowing_f16(epochs),
        &dir.0,
        Default::default(),
        Start::Fresh,
    )
    .unwrap();
    let column = |e: usize, name: &str| summary.history[e].train[name];
    let skipped: f64 = (0..epochs).map(|e| column(e, "skipped steps")).sum();
    // 1500 training images in batches of 64: 24 steps an epoch; 2^40 needs many halvings.
    assert!(column(0, "skipped steps") >= 10.0, "{skipped}");
    assert!(skipped < 48.0, "{skipped} of 144 steps skipped");
    // Each skip halved the scale; nothing grew it (2000 clean steps needed).
    assert_eq!(
        column(epochs - 1, "loss scale"),
        2f64.powi(40) * 0.5f64.powi(skipped as i32)
    );
    // And the run trained on: the steps after the skips lowered the loss (by 0.2–0.3 in the
    // runs seen; the first epochs of the default recipe are slow).
    assert!(
        column(epochs - 1, "Loss") < column(0, "Loss") - 0.1,
        "loss {} -> {}",
        column(0, "Loss"),
        column(epochs - 1, "Loss")
    );
    assert!(summary.history[epochs - 1].valid["Loss"].is_finite());
    let csv = std::fs::read_to_string(&summary.log).unwrap();
    assert!(
        csv.lines().next().unwrap().contains("train skipped steps"),
        "{csv}"
    );

    // --resume continues with the checkpointed scale instead of overflowing again from 2^40.
    let resumed = train::<MixedAB>(
        &overflowing_f16(epochs + 1),
        &dir.0,
        Default::default(),
        Start::Resume,
    )
    .unwrap();
    let last = resumed.history.last().unwrap();
    assert_eq!(last.epoch, epochs + 1);
    assert!(last.train["skipped steps"] < 5.0, "{:?}", last.train);
    assert!(
        last.train["loss scale"] <= column(epochs - 1, "loss scale"),
        "{:?}",
        last.train
    );
}

/// One AdamW group's state, as `GroupedAdamW` records it.
type GroupRecord = <OptimizerAdaptor<AdamW, Classifier<MixedAB>, MixedAB> as Optimizer<
    Classifier<MixedAB>,
    MixedAB,
>>::Record;

/// The dtype of every AdamW moment of `module`'s parameters in `record`.
struct MomentDtypes<'a> {
    record: &'a mut GroupRecord,
    dtypes: Vec<DType>,
}

impl ModuleVisitor<MixedAB> for MomentDtypes<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<MixedAB, D>>) {
        if let Some(record) = self.record.remove(&param.id) {
            let state: <AdamW as SimpleOptimizer<MixedB>>::State<D> = record.into_state();
            self.dtypes.push(state.momentum.moment_1.dtype());
            self.dtypes.push(state.momentum.moment_2.dtype());
        }
    }
}

fn head_weight(model: &ZooModel<MixedB>) -> Tensor<MixedB, 2> {
    let ZooModel::Vit(vit) = model else {
        unreachable!("a ViT")
    };
    vit.head.as_ref().expect("a head").weight.val()
}

#[test]
fn weights_and_adamw_moments_stay_f32_under_bf16_and_f16() {
    let device = Default::default();
    for precision in [Precision::Bf16, Precision::F16] {
        let vit = VisionTransformerConfig::new()
            .with_img_size([8, 8])
            .with_patch_size(4)
            .with_in_chans(1)
            .with_num_classes(3)
            .with_embed_dim(16)
            .with_depth(1)
            .with_num_heads(2)
            .init::<MixedAB>(&device);
        // A scale of 1: the step must be applied whatever the random init (the default 2^16
        // can overflow f16 on the first step and skip it, depending on the weights drawn).
        let scaler = precision.needs_loss_scaling().then(|| {
            LossScaler::new(vit_train::optim::loss_scale::LossScaleConfig {
                init_scale: 1.0,
                ..Default::default()
            })
        });
        let classifier = Classifier {
            model: ZooModel::Vit(vit),
            teacher: None,
            loss: Default::default(),
            mixed: MixedPrecision {
                precision,
                loss_scaler: scaler.clone(),
            },
            nodes: None,
        };
        let mut optim = GroupedAdamW::new(GroupedAdamWConfig {
            weight_decay: 0.05,
            max_grad_norm: Some(1.0),
            grad_scale: 1.0,
        });
        if let Some(scaler) = scaler {
            optim = optim.with_loss_scaler(scaler);
        }
        let batch = ImageBatch {
            images: Tensor::from_data(pseudo_random([4, 1, 8, 8], 1).into_data(), &device),
            labels: Tensor::<MixedAB, 1, Int>::from_data([0, 1, 2, 0], &device),
            targets: None,
            seed: 0,
        };
        let before = head_weight(&classifier.model.valid());
        let out = TrainStep::step(&classifier, batch);
        let stepped = optim.step(1e-2, classifier, out.grads);
        let mut dtypes = Vec::new();
        struct Dtypes<'a>(&'a mut Vec<DType>);
        impl ModuleVisitor<MixedAB> for Dtypes<'_> {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<MixedAB, D>>) {
                self.0.push(p.val().dtype());
            }
        }
        stepped.visit(&mut Dtypes(&mut dtypes));
        assert!(
            dtypes.iter().all(|d| *d == DType::F32),
            "{precision}: {dtypes:?}"
        );
        let moved = vit_testing::max_abs_diff(&before, &head_weight(&stepped.model.valid()));
        assert!(moved > 0.0, "{precision}: the step was applied");
        let (mut decay, mut no_decay, scale) = optim.to_record();
        assert_eq!(scale.is_some(), precision == Precision::F16);
        let mut moments = MomentDtypes {
            record: &mut decay,
            dtypes: Vec::new(),
        };
        stepped.visit(&mut moments);
        let mut dtypes = moments.dtypes;
        let mut moments = MomentDtypes {
            record: &mut no_decay,
            dtypes: Vec::new(),
        };
        stepped.visit(&mut moments);
        dtypes.extend(moments.dtypes);
        assert!(!dtypes.is_empty());
        assert!(
            dtypes.iter().all(|d| *d == DType::F32),
            "{precision}: {dtypes:?}"
        );
    }
}
