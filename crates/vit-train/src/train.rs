//! A training run on burn-train's `SupervisedTraining` + `Learner`: data, model, AdamW with the
//! warm-up + cosine schedule, metrics, checkpoints; then the test split, per class.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::optim::AdamWConfig;
use burn::record::CompactRecorder;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::{Learner, SupervisedTraining};
use vit_variants::zoo::{PretrainedModel, ZooModel};

use crate::batcher::{ImageAugment, ImageBatcher};
use crate::classifier::Classifier;
use crate::config::{DataSpec, RunPaths, TrainConfig};
use crate::digits::{DIGIT_CLASSES, DigitsDataset, Split};
use crate::image_item::ImageItem;
use crate::progress::{EpochRecord, EpochRenderer};
use crate::schedule::WarmupCosine;

/// Test accuracy of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassAccuracy {
    /// Class name.
    pub name: String,
    /// Top-1 accuracy in [0, 1].
    pub accuracy: f64,
    /// Test images of the class.
    pub images: usize,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Top-1 accuracy on the test split, in [0, 1].
    pub test_accuracy: f64,
    /// Per class.
    pub per_class: Vec<ClassAccuracy>,
    /// Per-epoch means of every metric.
    pub history: Vec<EpochRecord>,
    /// The saved model folder.
    pub model_dir: PathBuf,
    /// The per-epoch metrics file (CSV).
    pub log: PathBuf,
    /// Wall-clock seconds of training and evaluation.
    pub seconds: f64,
}

fn datasets(data: &DataSpec) -> (Vec<ImageItem>, Vec<ImageItem>, Vec<String>) {
    match data {
        DataSpec::Digits => {
            let all = |split| {
                let d = DigitsDataset::new(split);
                (0..d.len()).filter_map(|i| d.get(i)).collect::<Vec<_>>()
            };
            let names = DIGIT_CLASSES.iter().map(|s| s.to_string()).collect();
            (all(Split::Train), all(Split::Test), names)
        }
    }
}

/// An in-memory data set.
struct Items(Vec<ImageItem>);

impl Dataset<ImageItem> for Items {
    fn get(&self, index: usize) -> Option<ImageItem> {
        self.0.get(index).cloned()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Trains `config` on `device`, writing checkpoints and the model under `out`.
pub fn train<B: AutodiffBackend>(
    config: &TrainConfig,
    out: &Path,
    device: B::Device,
) -> Result<TrainSummary, String> {
    config.validate()?;
    let start = Instant::now();
    let paths = RunPaths {
        dir: out.to_path_buf(),
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    B::seed(&device, config.seed);
    let (train_items, test_items, class_names) = datasets(&config.data);
    let [_, h, w] = config.model.input_size();
    let batcher = |augment: Option<ImageAugment>, seed| {
        ImageBatcher::new(
            [h, w],
            config.mean.clone(),
            config.std.clone(),
            augment,
            seed,
        )
    };
    let augment = ImageAugment {
        crop_padding: config.crop_padding,
        hflip: config.hflip,
    };
    let train_len = train_items.len();
    let loader_train = DataLoaderBuilder::new(batcher(Some(augment), config.seed))
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(config.num_workers)
        .build(Items(train_items));
    let loader_valid = DataLoaderBuilder::new(batcher(None, config.seed))
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .build(Items(test_items.clone()));

    let model = config
        .model
        .try_init::<B>(&device)
        .map_err(|e| e.to_string())?;
    let classifier = Classifier {
        model,
        label_smoothing: config.label_smoothing,
    };
    let steps_per_epoch = train_len.div_ceil(config.batch_size);
    let schedule = WarmupCosine {
        base_lr: config.lr,
        min_lr: config.min_lr,
        warmup_steps: config.warmup_epochs * steps_per_epoch,
        total_steps: config.epochs * steps_per_epoch,
        step: 0,
    };
    let optimizer = AdamWConfig::new()
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let history = Arc::new(Mutex::new(Vec::new()));
    let checkpoints = out.join("checkpoints");
    let training = SupervisedTraining::new(&checkpoints, loader_train, loader_valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(TopKAccuracyMetric::new(5))
        .metric_valid_numeric(TopKAccuracyMetric::new(5))
        .metric_train_numeric(LearningRateMetric::new())
        .with_file_checkpointer(CompactRecorder::new())
        .renderer(EpochRenderer::new(config.epochs, history.clone()))
        .num_epochs(config.epochs);
    let result = training.launch(Learner::new(classifier, optimizer, schedule));
    let trained = result.model;

    let (test_accuracy, per_class) = evaluate::<B::InnerBackend>(
        &trained.model,
        &test_items,
        &class_names,
        &batcher(None, 0),
        &device_of(&trained),
    )?;
    let mut pretrained_cfg = config.model.default_pretrained_cfg();
    pretrained_cfg.mean = config.mean.iter().map(|&v| v as f64).collect();
    pretrained_cfg.std = config.std.iter().map(|&v| v as f64).collect();
    let trained = PretrainedModel {
        model: trained.model,
        config: config.model.clone(),
        pretrained_cfg,
        label_names: Some(class_names),
        report: Default::default(),
        source: format!("vit train ({} epochs)", config.epochs),
    };
    trained.save(&paths.model()).map_err(|e| e.to_string())?;
    let history = history.lock().expect("history").clone();
    write_log(&paths.log(), &history)?;
    Ok(TrainSummary {
        test_accuracy,
        per_class,
        history,
        model_dir: paths.model(),
        log: paths.log(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn device_of<B: Backend>(model: &Classifier<B>) -> B::Device {
    model
        .devices()
        .into_iter()
        .next()
        .expect("a model lives on a device")
}

/// Top-1 accuracy over `items` and per class.
pub fn evaluate<B: Backend>(
    model: &ZooModel<B>,
    items: &[ImageItem],
    class_names: &[String],
    batcher: &ImageBatcher,
    device: &B::Device,
) -> Result<(f64, Vec<ClassAccuracy>), String> {
    use burn::data::dataloader::batcher::Batcher;
    let mut correct = vec![0usize; class_names.len()];
    let mut total = vec![0usize; class_names.len()];
    for chunk in items.chunks(128) {
        let batch: crate::batcher::ImageBatch<B> = batcher.batch(chunk.to_vec(), device);
        let predicted = model.forward(batch.images).argmax(1).into_data();
        let predicted: Vec<i64> = predicted
            .convert::<i64>()
            .into_vec()
            .map_err(|e| format!("{e:?}"))?;
        for (item, p) in chunk.iter().zip(predicted) {
            total[item.label] += 1;
            correct[item.label] += usize::from(p as usize == item.label);
        }
    }
    let all: usize = total.iter().sum();
    let right: usize = correct.iter().sum();
    let per_class = class_names
        .iter()
        .enumerate()
        .map(|(i, name)| ClassAccuracy {
            name: name.clone(),
            accuracy: correct[i] as f64 / total[i].max(1) as f64,
            images: total[i],
        })
        .collect();
    Ok((right as f64 / all.max(1) as f64, per_class))
}

/// Writes the per-epoch means as CSV (`epoch,seconds,train_<metric>…,valid_<metric>…`), atomically.
pub fn write_log(path: &Path, history: &[EpochRecord]) -> Result<(), String> {
    let columns = |pick: fn(&EpochRecord) -> &std::collections::BTreeMap<String, f64>| {
        let mut names: Vec<String> = history
            .iter()
            .flat_map(|r| pick(r).keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let (train_cols, valid_cols) = (columns(|r| &r.train), columns(|r| &r.valid));
    let mut csv = String::from("epoch,seconds");
    for name in &train_cols {
        csv += &format!(",train {name}");
    }
    for name in &valid_cols {
        csv += &format!(",valid {name}");
    }
    csv.push('\n');
    for r in history {
        csv += &format!("{},{:.2}", r.epoch, r.elapsed_s);
        for name in &train_cols {
            csv += &format!(
                ",{}",
                r.train.get(name).map_or(String::new(), |v| v.to_string())
            );
        }
        for name in &valid_cols {
            csv += &format!(
                ",{}",
                r.valid.get(name).map_or(String::new(), |v| v.to_string())
            );
        }
        csv.push('\n');
    }
    vit_core::config_file::write_atomic(path, csv.as_bytes())
        .map_err(|e| format!("{}: cannot write the log: {e}", path.display()))
}
