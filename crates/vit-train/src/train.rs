//! A training run on burn-train's `SupervisedTraining` + `Learner`: data, model (fresh, or
//! pretrained with a new head), AdamW with timm's parameter groups and the warm-up + cosine
//! schedule, metrics, atomic checkpoints, resume, early stopping, several devices; then the
//! test split, per class, the logs and the plot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend, DeviceId};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::{ExecutionStrategy, Learner, MultiDeviceOptim, SupervisedTraining};
use vit_core::pretrained::read_architecture;
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel, load_model, zoo_preset};

use crate::batcher::{ImageBatch, ImageBatcher};
use crate::checkpoint::{AtomicRecorder, last_complete_epoch};
use crate::classifier::{Classifier, LossSettings};
use crate::config::{RunPaths, TrainConfig};
use crate::early_stopping::ValidLossPatience;
use crate::epoch_data::{EpochShuffled, InOrder};
use crate::finetune::freeze_backbone;
use crate::image_item::ImageItem;
use crate::logs::{read_history, write_logs, write_plot};
use crate::optimizer::{GroupedAdamW, GroupedAdamWConfig};
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
    /// Per-epoch means of every metric (the whole run, also across a resume).
    pub history: Vec<EpochRecord>,
    /// The epoch training started at (> 1 after a resume).
    pub first_epoch: usize,
    /// Trainable parameters (fewer than the model's with a frozen backbone).
    pub trainable_params: usize,
    /// What was done to fit pretrained weights (fresh head, …); empty from scratch.
    pub init_report: Vec<String>,
    /// The saved model folder.
    pub model_dir: PathBuf,
    /// The per-epoch metrics file (CSV).
    pub log: PathBuf,
    /// The loss and accuracy curves (PNG).
    pub plot: PathBuf,
    /// Wall-clock seconds of this invocation (training and evaluation).
    pub seconds: f64,
}

/// How to start: from scratch, or continuing the run in `out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// A new run (an existing run in the folder is an error, so nothing is overwritten).
    #[default]
    Fresh,
    /// Continue from the last complete epoch checkpointed in the folder.
    Resume,
}

const NO_MODEL: &str = "the config needs `model` (an architecture) or `init` (pretrained weights)";

/// The model a run trains.
struct Built<B: Backend> {
    config: ZooConfig,
    model: ZooModel<B>,
    /// The checkpoint's preprocessing (with `init`).
    pretrained_cfg: Option<vit_core::timm_folder::PretrainedCfg>,
    /// What loading pretrained weights did (fresh head, frozen backbone, …).
    report: Vec<String>,
    trainable_params: usize,
}

/// The model to train, built from `model` or loaded from `init`, with its head sized for
/// `num_classes`.
fn build_model<B: Backend>(
    config: &TrainConfig,
    num_classes: usize,
    device: &B::Device,
) -> Result<Built<B>, String> {
    let err = |e: vit_core::VitError| e.to_string();
    let Some(init) = &config.init else {
        let mut model = config.model.clone().ok_or(NO_MODEL)?;
        if model.num_classes() != num_classes {
            return Err(format!(
                "model.config.num_classes is {}, the data set has {num_classes} classes",
                model.num_classes()
            ));
        }
        if let Some(rate) = config.drop_path_rate {
            model.set_drop_path_rate(rate);
        }
        let net = model.try_init::<B>(device).map_err(err)?;
        let trainable_params = net.num_params();
        return Ok(Built {
            config: model,
            model: net,
            pretrained_cfg: None,
            report: Vec::new(),
            trainable_params,
        });
    };
    let loaded = load_model::<B>(&init.from, config.model.clone(), Some(num_classes), device)
        .map_err(|e| format!("init.from: {e}"))?;
    let r = &loaded.report;
    let mut report = vec![format!(
        "{} tensors loaded from {}",
        r.loaded,
        init.from.display()
    )];
    report.extend(r.fresh.iter().map(|k| format!("fresh (new head): {k}")));
    report.extend(r.adapted.iter().map(|k| format!("adapted: {k}")));
    report.extend(r.ignored.iter().map(|k| format!("ignored: {k}")));
    let pretrained_cfg = Some(loaded.pretrained_cfg);
    let mut model = loaded.config;
    let mut net = loaded.model;
    if let Some(rate) = config.drop_path_rate {
        // The stochastic-depth rate is a constant of the module: build it anew with the
        // rate and move the loaded weights in.
        model.set_drop_path_rate(rate);
        net = model
            .try_init::<B>(device)
            .map_err(err)?
            .load_record(net.into_record());
    }
    let mut trainable_params = net.num_params();
    if init.freeze_backbone {
        let (frozen, trainable) = freeze_backbone(net);
        net = frozen;
        trainable_params = trainable;
        report.push(format!(
            "backbone frozen: {trainable} trainable parameters (the head)"
        ));
    }
    Ok(Built {
        config: model,
        model: net,
        pretrained_cfg,
        report,
        trainable_params,
    })
}

/// Loads the distillation teacher and checks it takes the student's input and predicts the
/// data set's classes.
fn build_teacher<B: Backend>(
    config: &TrainConfig,
    input: [usize; 3],
    class_names: &[String],
    device: &B::Device,
) -> Result<Option<ZooModel<B>>, String> {
    let num_classes = class_names.len();
    let Some(distillation) = &config.distillation else {
        return Ok(None);
    };
    let base = match &distillation.teacher_model {
        None => None,
        Some(name) if Path::new(name).is_file() => {
            Some(ZooConfig::load_file(Path::new(name)).map_err(|e| e.to_string())?)
        }
        Some(name) => {
            Some(zoo_preset(name).map_err(|e| format!("distillation.teacher_model: {e}"))?)
        }
    };
    let teacher = load_model::<B>(&distillation.teacher, base, None, device)
        .map_err(|e| format!("distillation.teacher: {e}"))?;
    if teacher.config.input_size() != input {
        return Err(format!(
            "distillation.teacher {} takes {:?} inputs ([channels, height, width]), the student \
             {input:?}",
            distillation.teacher.display(),
            teacher.config.input_size()
        ));
    }
    if teacher.config.num_classes() != num_classes {
        return Err(format!(
            "distillation.teacher {} predicts {} classes, the data set has {num_classes}",
            distillation.teacher.display(),
            teacher.config.num_classes()
        ));
    }
    if let Some(names) = &teacher.label_names
        && names != class_names
    {
        return Err(format!(
            "distillation.teacher {} names its classes {names:?}, the data set {class_names:?} \
             (same classes in the same order needed)",
            distillation.teacher.display()
        ));
    }
    Ok(Some(teacher.model.no_grad()))
}

/// `count` devices of the kind of `main` (indices counted up from it). A backend with one
/// device that every index maps to (the CPU backends) gets `count` replicas of it — burn-train
/// then runs them on parallel threads; a missing GPU is an error.
fn devices_like<B: Backend>(main: &B::Device, count: usize) -> Result<Vec<B::Device>, String> {
    use burn::tensor::backend::DeviceOps;
    fn nth<D: DeviceOps>(id: DeviceId, i: usize) -> D {
        D::from_id(DeviceId {
            type_id: id.type_id,
            index_id: id.index_id + i as u16,
        })
    }
    let id = main.id();
    let devices: Vec<B::Device> = (0..count).map(|i| nth(id, i)).collect();
    let replicas = devices.iter().all(|d| d == main);
    let available = B::device_count(id.type_id);
    if !replicas && id.index_id as usize + count > available {
        return Err(format!(
            "devices is {count}, but the backend has {available} device(s) of this kind from \
             index {}",
            id.index_id
        ));
    }
    Ok(devices)
}

/// Trains `config` on `device` (and the next `config.devices − 1` devices of its kind),
/// writing checkpoints, logs, the plot and the model under `out`.
pub fn train<B: AutodiffBackend>(
    config: &TrainConfig,
    out: &Path,
    device: B::Device,
    start: Start,
) -> Result<TrainSummary, String> {
    let started = Instant::now();
    let paths = RunPaths {
        dir: out.to_path_buf(),
    };
    let first_epoch = match start {
        Start::Fresh => {
            if last_complete_epoch(&paths.checkpoints()).is_some() {
                return Err(format!(
                    "{} already holds a run: continue it with --resume, or choose another \
                     output folder",
                    out.display()
                ));
            }
            1
        }
        Start::Resume => {
            let saved = TrainConfig::load(&paths.config())?;
            let differing = differing_fields(&saved, config);
            if !differing.is_empty() {
                return Err(format!(
                    "--resume continues the run's own config ({}); the one given here differs \
                     in: {}",
                    paths.config().display(),
                    differing.join(", ")
                ));
            }
            let last = last_complete_epoch(&paths.checkpoints()).ok_or_else(|| {
                format!(
                    "{}: no complete checkpoint to resume from",
                    paths.checkpoints().display()
                )
            })?;
            last + 1
        }
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    B::seed(&device, config.seed);

    // The architecture decides the input size, which the data set is loaded at.
    let probe = match (&config.model, &config.init) {
        (Some(model), None) => model.clone(),
        // Fine-tuning: the checkpoint names the architecture (read without its weights).
        (base, Some(init)) => {
            read_architecture(&init.from, base.clone()).map_err(|e| format!("init.from: {e}"))?
        }
        (None, None) => return Err(NO_MODEL.into()),
    };
    config.validate(&probe)?;
    let input = probe.input_size();
    let data = config.data.load(input)?;
    let num_classes = data.class_names.len();
    let Built {
        config: model_config,
        model,
        pretrained_cfg: checkpoint_cfg,
        report: init_report,
        trainable_params,
    } = build_model::<B>(config, num_classes, &device)?;
    // Normalise as the checkpoint was trained when the config leaves mean/std empty.
    let (mean, std) = match &checkpoint_cfg {
        Some(cfg) if config.mean.is_empty() => (
            cfg.mean.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            cfg.std.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        ),
        _ => (config.mean.clone(), config.std.clone()),
    };
    if start == Start::Fresh {
        let text = serde_json::to_string_pretty(config).map_err(|e| e.to_string())?;
        vit_core::config_file::write_atomic(&paths.config(), text.as_bytes())
            .map_err(|e| format!("{}: {e}", paths.config().display()))?;
    }
    let teacher = build_teacher::<B>(config, input, &data.class_names, &device)?;

    let [_, h, w] = input;
    let batcher = ImageBatcher::new([h, w], mean.clone(), std.clone());
    let train_batcher = batcher.clone().with_augment(
        config.augment.clone(),
        num_classes,
        config.label_smoothing as f32,
    );
    let train_len = data.train.len();
    let loader_train = DataLoaderBuilder::new(train_batcher)
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .build(EpochShuffled::new(data.train, config.seed, first_epoch));
    let loader_valid = DataLoaderBuilder::new(batcher.clone())
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .build(InOrder(data.test.clone()));

    let classifier = Classifier {
        model,
        teacher,
        loss: LossSettings {
            label_smoothing: config.label_smoothing,
            distillation: config.distillation.as_ref().map(|d| d.loss()),
        },
    };
    // burn-train splits each epoch's data between the devices and sums their gradients.
    let steps_per_epoch = train_len
        .div_ceil(config.devices)
        .div_ceil(config.batch_size);
    let schedule = WarmupCosine {
        base_lr: config.lr,
        min_lr: config.min_lr,
        warmup_steps: config.warmup_epochs * steps_per_epoch,
        total_steps: config.epochs * steps_per_epoch,
        step: 0,
    };
    let optimizer = GroupedAdamW::new(GroupedAdamWConfig {
        weight_decay: config.weight_decay as f32,
        max_grad_norm: config.grad_clip.map(|v| v as f32),
        grad_scale: 1.0 / config.devices as f32,
    });

    let history = Arc::new(Mutex::new(match start {
        Start::Fresh => Vec::new(),
        Start::Resume => read_history(&paths.history(), first_epoch)?,
    }));
    let hook_paths = paths.clone();
    let renderer = EpochRenderer::new(first_epoch, config.epochs, history.clone()).on_epoch(
        Box::new(move |history| {
            if let Err(e) =
                write_logs(&hook_paths, history).and_then(|()| write_plot(&hook_paths, history))
            {
                eprintln!("warning: {e}");
            }
        }),
    );
    let mut training = SupervisedTraining::new(paths.learner(), loader_train, loader_valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .with_file_checkpointer(AtomicRecorder::default())
        .renderer(renderer)
        .num_epochs(config.epochs);
    if num_classes > 5 {
        // Top-5 of five classes or fewer is always 100 % (and Burn's metric needs k < classes).
        training = training
            .metric_train_numeric(TopKAccuracyMetric::new(5))
            .metric_valid_numeric(TopKAccuracyMetric::new(5));
    }
    if first_epoch > 1 {
        training = training.checkpoint(first_epoch - 1);
    }
    if let Some(patience) = config.early_stopping_patience {
        // Patience counts from the best epoch of the whole run, also across a resume.
        let earlier = history.lock().map_err(|e| e.to_string())?.clone();
        let strategy = ValidLossPatience::new(patience, &earlier);
        if let Some(last) = earlier.last()
            && strategy.stopped_at(last.epoch)
        {
            return Err(format!(
                "the run in {} stopped early at epoch {} (no better validation loss since epoch \
                 {}): nothing to resume",
                out.display(),
                last.epoch,
                strategy.best_epoch()
            ));
        }
        training = training.early_stopping(strategy);
    }
    if config.devices > 1 {
        training = training.with_training_strategy(
            ExecutionStrategy::MultiDevice(
                devices_like::<B>(&device, config.devices)?,
                MultiDeviceOptim::OptimMainDevice,
            )
            .into(),
        );
    }
    let result = training.launch(Learner::new(classifier, optimizer, schedule));
    let trained = result.model.model;

    let test_device = trained
        .devices()
        .into_iter()
        .next()
        .ok_or("the trained model has no device")?;
    let (test_accuracy, per_class) = evaluate::<B::InnerBackend>(
        &trained,
        &data.test,
        &data.class_names,
        &batcher,
        &test_device,
    )?;
    // Preprocess as the training did: squash (bilinear) straight to the input, no crop.
    let mut pretrained_cfg = model_config.default_pretrained_cfg();
    pretrained_cfg.input_size = input;
    pretrained_cfg.crop_pct = 1.0;
    pretrained_cfg.crop_mode = "squash".into();
    pretrained_cfg.interpolation = "bilinear".into();
    pretrained_cfg.mean = mean.iter().map(|&v| v as f64).collect();
    pretrained_cfg.std = std.iter().map(|&v| v as f64).collect();
    let history = history.lock().map_err(|e| e.to_string())?.clone();
    let epochs_run = history.last().map_or(0, |r| r.epoch);
    let saved = PretrainedModel {
        model: trained,
        config: model_config,
        pretrained_cfg,
        label_names: Some(data.class_names),
        report: Default::default(),
        source: format!("vit train ({epochs_run} epochs)"),
    };
    saved.save(&paths.model()).map_err(|e| e.to_string())?;
    write_logs(&paths, &history)?;
    if let Err(e) = write_plot(&paths, &history) {
        eprintln!("warning: no plot: {e}");
    }
    Ok(TrainSummary {
        test_accuracy,
        per_class,
        history,
        first_epoch,
        trainable_params,
        init_report,
        model_dir: paths.model(),
        log: paths.log(),
        plot: paths.plot(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The top-level fields in which two configs differ.
fn differing_fields(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["(unreadable)".into()];
    };
    a.iter()
        .filter(|(key, value)| b.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .collect()
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
        let samples = chunk
            .iter()
            .map(|image| crate::epoch_data::Sample {
                image: image.clone(),
                seed: 0,
            })
            .collect();
        let batch: ImageBatch<B> = batcher.batch(samples, device);
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
