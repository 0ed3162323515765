//! One training run on burn-train's `SupervisedTraining` + `Learner`, as named steps: where to
//! start (fresh or the resume point), the model, the data, the learner (AdamW with timm's
//! groups, warm-up + cosine, metrics, atomic checkpoints, early stopping, several devices), the
//! evaluation on the test split, and the saved model, logs and curves.

pub mod disk;
pub mod evaluate;
pub mod finetune;
pub mod folder;
pub mod lock;
pub mod logs;
pub mod model;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use vit_core::{VitAutodiffBackend, VitBackend};

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::tensor::backend::DeviceId;
use burn::train::checkpoint::{
    ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric, TopKAccuracyMetric};
use burn::train::{ExecutionStrategy, Learner, MultiDeviceOptim, SupervisedTraining};
use vit_core::atomic_file::write_atomic;
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_core::weights::pretrained::read_architecture;
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel};

use crate::cluster::{NodeGroup, NodeSpec, flat, stable_hash};
use crate::config::{RunPaths, TrainConfig};
use crate::data::DataSplits;
use crate::data::batcher::ImageBatcher;
use crate::data::epoch_data::{EpochShuffled, InOrder, Shard};
use crate::error::{Result, TrainError};
use crate::learner::checkpoint::{AtomicRecorder, last_complete_epoch, verify_checkpoint};
use crate::learner::classifier::{Classifier, LossSettings, MixedPrecision};
use crate::learner::early_stopping::{StopRules, ValidLossPatience};
use crate::learner::progress::{EpochRecord, EpochRenderer};
use crate::optim::adamw::{GroupedAdamW, GroupedAdamWConfig};
use crate::optim::loss_scale::LossScaler;
use crate::optim::schedule::WarmupCosine;
use crate::run::evaluate::{ClassAccuracy, evaluate};
use crate::run::lock::RunLock;
use crate::run::logs::{read_history, write_logs, write_plot};
use crate::run::model::{Built, NO_MODEL, build_model, build_teacher};

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
    /// In a multi-node run, this node's rank and the number of nodes (the weights were found
    /// the same on all of them after the last step); only rank 0 saves the model, logs and plot.
    pub node: Option<(usize, usize)>,
}

/// How to start: from scratch, or continuing the run in `out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// A new run (an existing run in the folder is an error, so nothing is overwritten).
    #[default]
    Fresh,
    /// Continue from the last complete epoch checkpointed in the folder.
    Resume,
    /// A new run that first removes a previous run's results from the folder (its config,
    /// logs, curves, model and checkpoints; nothing else there).
    Overwrite,
}

/// Trains `config` on `device` (and the next `config.devices − 1` devices of its kind),
/// writing checkpoints, logs, the plot and the model under `out`.
pub fn train<B: VitAutodiffBackend>(
    config: &TrainConfig,
    out: &Path,
    device: B::Device,
    start: Start,
) -> Result<TrainSummary> {
    train_on_nodes::<B>(config, out, device, start, None)
}

/// [`train`] as one node of a multi-node run when `nodes` is given (see [`crate::cluster`]):
/// this node trains on its shard of every epoch with the gradients averaged over all nodes;
/// rank 0 writes the run folder `out`, the other ranks only their checkpoints and config in
/// `out/rank-R` (what `--resume` needs).
pub fn train_on_nodes<B: VitAutodiffBackend>(
    config: &TrainConfig,
    out: &Path,
    device: B::Device,
    start: Start,
    nodes: Option<&NodeSpec>,
) -> Result<TrainSummary> {
    let started = Instant::now();
    if let Some(spec) = nodes {
        spec.validate()?;
        if config.devices > 1 {
            return Err(TrainError::Config(format!(
                "devices is {} with --nodes: a multi-node run takes one device per process; \
                 start one node per device instead (--nodes counts them all)",
                config.devices
            )));
        }
    }
    let paths = RunPaths {
        dir: nodes.map_or_else(|| out.to_path_buf(), |spec| spec.node_dir(out)),
    };
    // A config that cannot run is refused before anything is created.
    let architecture = architecture(config)?;
    config.validate(&architecture)?;
    if config.devices > 1 {
        devices_like::<B>(&device, config.devices)?;
    }
    let out = paths.dir.as_path();
    std::fs::create_dir_all(out).map_err(TrainError::io(out))?;
    // Held until this function returns: a second run on the folder is refused, not interleaved.
    let _lock = RunLock::acquire(out)?;
    folder::remove_run_temps(&paths)?;
    let mut first_epoch = resume_point(config, &paths, start)?;
    let group = match nodes {
        Some(spec) => {
            // A node whose config (or start mode) is another one is refused when they join.
            let mut text = serde_json::to_string(config).expect("configs serialise");
            text.push_str(if start == Start::Resume {
                " resume"
            } else {
                " fresh"
            });
            let group = NodeGroup::join(spec, stable_hash(text.as_bytes()))?;
            first_epoch = agree_start(&group, first_epoch, &paths)?;
            Some(group)
        }
        None => None,
    };
    B::seed(&device, config.seed);

    config
        .precision
        .check_backend::<B>(&device)
        .map_err(TrainError::Config)?;
    let input = architecture.input_size();
    let data = config.data.load(input)?;
    let built = build_model::<B>(config, data.class_names.len(), &device)?;
    let disk_needed = disk::run_needs(
        built.model.num_params() as u64,
        config.keep_checkpoints as u64 + 2,
    );
    disk::check_free(out, disk_needed)?;
    let [mean, std] = normalisation(config, built.pretrained_cfg.as_ref());
    if start != Start::Resume {
        save_config(config, &paths)?;
    }
    let teacher = build_teacher::<B>(config, input, &data.class_names, &device)?;
    let batcher = ImageBatcher::new([input[1], input[2]], mean.clone(), std.clone());

    let history = Arc::new(Mutex::new(match start {
        Start::Fresh | Start::Overwrite => Vec::new(),
        Start::Resume => read_history(&paths.history(), first_epoch)?,
    }));
    let Built {
        config: model_config,
        mut model,
        report: init_report,
        trainable_params,
        ..
    } = built;
    if let Some(group) = &group
        && first_epoch == 1
    {
        // Rank 0's initial weights everywhere (a resumed run loads its checkpoint instead);
        // the first step checks that the nodes hold the same weights either way.
        model = group.broadcast_params::<B, _>(model);
    }
    let classifier = Classifier {
        model,
        teacher,
        loss: LossSettings {
            label_smoothing: config.label_smoothing,
            distillation: config.distillation.as_ref().map(|d| d.loss()),
        },
        mixed: MixedPrecision {
            precision: config.precision,
            loss_scaler: config
                .precision
                .needs_loss_scaling()
                .then(|| LossScaler::new(config.loss_scale.clone())),
        },
        nodes: group.clone(),
    };
    let trained = fit(
        config,
        &paths,
        &device,
        Fit {
            classifier,
            data: &data,
            batcher: &batcher,
            first_epoch,
            history: history.clone(),
            group: group.clone(),
        },
    )?;
    if let Some(group) = &group {
        group
            .verify_same_weights(flat::values(&trained), "after the last step")
            .map_err(TrainError::Run)?;
    }

    let test_device = trained
        .devices()
        .into_iter()
        .next()
        .ok_or_else(|| TrainError::Run("the trained model has no device".into()))?;
    // Tested as it was validated: under the run's precision.
    let (test_accuracy, per_class) = evaluate::<B::InnerBackend>(
        config.precision,
        &trained,
        &data.test,
        &data.class_names,
        &batcher,
        &test_device,
    )?;
    let history = history
        .lock()
        .map_err(|e| TrainError::Run(e.to_string()))?
        .clone();
    let trained = Trained {
        model: trained,
        config: model_config,
        input,
        mean,
        std,
        class_names: data.class_names,
        epochs_run: history.last().map_or(0, |r| r.epoch),
    };
    let node = group.as_ref().map(|g| (g.rank(), g.nodes()));
    if node.is_none_or(|(rank, _)| rank == 0) {
        save_results(trained, &history, &paths)?;
    }
    if let Some(group) = &group {
        group.finish();
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
        node,
    })
}

/// The epoch all nodes continue from (the earliest any node can: a node killed mid-epoch has
/// one checkpoint fewer).
fn agree_start(group: &NodeGroup, first_epoch: usize, paths: &RunPaths) -> Result<usize> {
    group.set_advice(format!(
        " This node's last complete checkpoint is in {}; to continue, start every node again \
         with --resume (the orchestrator serves the next run).",
        paths.checkpoints().display()
    ));
    let agreed = group.agree_start(first_epoch);
    if agreed < first_epoch {
        let needed = paths
            .checkpoints()
            .join(format!("model-{}.mpk", agreed - 1));
        if !needed.is_file() {
            return Err(TrainError::Run(format!(
                "rank {}: the nodes continue from epoch {agreed}, but this node no longer has \
                 that checkpoint ({})",
                group.rank(),
                needed.display()
            )));
        }
        eprintln!(
            "rank {}: continuing from epoch {agreed} with the other nodes (this node had \
             finished epoch {})",
            group.rank(),
            first_epoch - 1
        );
    }
    Ok(agreed)
}

/// The first epoch to run: 1 for a fresh run (refused when the folder already holds one's
/// results; removing them first with [`Start::Overwrite`]), the
/// epoch after the last complete checkpoint for a resumed one (whose config must be the run's
/// own).
fn resume_point(config: &TrainConfig, paths: &RunPaths, start: Start) -> Result<usize> {
    match start {
        Start::Fresh => {
            folder::refuse_previous_outputs(paths)?;
            Ok(1)
        }
        Start::Overwrite => {
            folder::remove_previous_outputs(paths)?;
            Ok(1)
        }
        Start::Resume => {
            let saved = TrainConfig::load(&paths.config())?;
            let mut differing = differing_fields(&saved, config);
            // More epochs than the run had: an extension (the cosine is stretched to the new
            // length from here on, as timm does when resuming with a longer schedule).
            let extends = config.epochs > saved.epochs;
            if extends {
                differing.retain(|field| field != "epochs");
            }
            if !differing.is_empty() {
                return Err(TrainError::Run(format!(
                    "--resume continues the run's own config ({}); the one given here differs \
                     in: {}",
                    paths.config().display(),
                    differing.join(", ")
                )));
            }
            let last = last_complete_epoch(&paths.checkpoints()).ok_or_else(|| {
                TrainError::Run(format!(
                    "{}: no complete checkpoint to resume from",
                    paths.checkpoints().display()
                ))
            })?;
            if last >= config.epochs {
                return Err(TrainError::Run(format!(
                    "the run in {} already finished its {} epochs: to train on, resume with more \
                     (--resume --epochs N, N > {})",
                    paths.dir.display(),
                    config.epochs,
                    config.epochs
                )));
            }
            if extends {
                save_config(config, paths)?;
            }
            Ok(last + 1)
        }
    }
}

/// The architecture the run trains, which decides the input size the data is loaded at; a
/// fine-tuning checkpoint names its own (read without its weights).
fn architecture(config: &TrainConfig) -> Result<ZooConfig> {
    match (&config.model, &config.init) {
        (Some(model), None) => Ok(model.clone()),
        (base, Some(init)) => vit_variants::model_location(&init.from, false)
            .and_then(|from| read_architecture(&from, base.clone()))
            .map_err(TrainError::model_field("init.from")),
        (None, None) => Err(TrainError::Config(NO_MODEL.into())),
    }
}

/// The mean and std the batcher normalises with: the checkpoint's when fine-tuning and the
/// config leaves them empty, else the config's.
fn normalisation(config: &TrainConfig, checkpoint: Option<&PretrainedCfg>) -> [Vec<f32>; 2] {
    match checkpoint {
        Some(cfg) if config.mean.is_empty() => {
            [&cfg.mean, &cfg.std].map(|v| v.iter().map(|&x| x as f32).collect())
        }
        _ => [config.mean.clone(), config.std.clone()],
    }
}

/// Writes the run's config into its folder (what `--resume` continues).
fn save_config(config: &TrainConfig, paths: &RunPaths) -> Result<()> {
    let text = serde_json::to_string_pretty(config).expect("configs serialise");
    write_atomic(&paths.config(), text.as_bytes()).map_err(TrainError::io(paths.config()))
}

/// What [`fit`] trains on.
struct Fit<'a, B: VitAutodiffBackend> {
    classifier: Classifier<B>,
    data: &'a DataSplits,
    batcher: &'a ImageBatcher,
    first_epoch: usize,
    history: Arc<Mutex<Vec<EpochRecord>>>,
    group: Option<NodeGroup>,
}

/// Runs burn-train's learner over the epochs from `first_epoch`: data loaders, AdamW and its
/// schedule, metrics, checkpoints, the epoch renderer (logs and curves after every epoch),
/// early stopping and the devices. Returns the trained model (burn-train hands it back for
/// inference, on the inner backend).
fn fit<B: VitAutodiffBackend>(
    config: &TrainConfig,
    paths: &RunPaths,
    device: &B::Device,
    fit: Fit<'_, B>,
) -> Result<ZooModel<B::InnerBackend>> {
    let Fit {
        classifier,
        data,
        batcher,
        first_epoch,
        history,
        group,
    } = fit;
    let shard = group.as_ref().map(|g| Shard {
        rank: g.rank(),
        nodes: g.nodes(),
        batch: config.batch_size,
    });
    let mut epoch_data = EpochShuffled::new(data.train.clone(), config.seed, first_epoch);
    if let Some(shard) = shard {
        epoch_data = epoch_data.with_shard(shard);
    }
    let num_classes = data.class_names.len();
    let train_batcher = batcher.clone().with_augment(
        config.augment.clone(),
        num_classes,
        config.label_smoothing as f32,
    );
    let loader_train = DataLoaderBuilder::new(train_batcher)
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .build(epoch_data);
    let loader_valid = DataLoaderBuilder::new(batcher.clone())
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .build(InOrder(data.test.clone()));

    // burn-train splits each epoch's data between the devices and sums their gradients; the
    // nodes of a multi-node run each read their shard (one step of all = one global step).
    let steps_per_epoch = match shard {
        Some(shard) => shard.len(data.train.len()),
        None => data.train.len().div_ceil(config.devices),
    }
    .div_ceil(config.batch_size);
    let schedule = WarmupCosine {
        base_lr: config.lr,
        min_lr: config.min_lr,
        warmup_steps: config.effective_warmup_epochs() * steps_per_epoch,
        total_steps: config.epochs * steps_per_epoch,
        step: 0,
    };
    let mut optimizer = GroupedAdamW::new(GroupedAdamWConfig {
        weight_decay: config.weight_decay as f32,
        max_grad_norm: config.grad_clip.map(|v| v as f32),
        grad_scale: 1.0 / config.devices as f32,
    });
    let mut renderer = EpochRenderer::new(first_epoch, config.epochs, history.clone());
    if let Some(scaler) = &classifier.mixed.loss_scaler {
        optimizer = optimizer.with_loss_scaler(scaler.clone());
        renderer = renderer.with_loss_scale(scaler.clone(), steps_per_epoch);
    }

    let hook_paths = paths.clone();
    let writes_run_folder = group.as_ref().is_none_or(|g| g.rank() == 0);
    let interrupter = burn::train::Interrupter::new();
    let on_disk_full = interrupter.clone();
    let disk_needed = disk::run_needs(
        classifier.model.num_params() as u64,
        config.keep_checkpoints as u64 + 2,
    );
    let renderer = renderer.on_epoch(Box::new(move |history| {
        // Stopped at an epoch's end while there is room, not by a failed write mid-epoch
        // (burn-train's logger panics then, and the process aborts).
        if let Err(e) = disk::check_free(&hook_paths.dir, disk_needed) {
            on_disk_full.stop(Some(&e.to_string()));
        }
        if !writes_run_folder {
            return;
        }
        if let Err(e) =
            write_logs(&hook_paths, history).and_then(|()| write_plot(&hook_paths, history))
        {
            eprintln!("warning: {e}");
        }
    }));
    let mut training = SupervisedTraining::new(paths.learner(), loader_train, loader_valid)
        .with_interrupter(interrupter.clone())
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .with_file_checkpointer(AtomicRecorder::default())
        .with_checkpointing_strategy(
            ComposedCheckpointingStrategy::builder()
                .add(KeepLastNCheckpoints::new(config.keep_checkpoints))
                .add(MetricCheckpointingStrategy::new(
                    &LossMetric::<B::InnerBackend>::new(),
                    Aggregate::Mean,
                    Direction::Lowest,
                    Split::Valid,
                ))
                .build(),
        )
        .renderer(renderer)
        .num_epochs(config.epochs);
    if num_classes > 5 {
        // Top-5 of five classes or fewer is always 100 % (and Burn's metric needs k < classes).
        training = training
            .metric_train_numeric(TopKAccuracyMetric::new(5))
            .metric_valid_numeric(TopKAccuracyMetric::new(5));
    }
    if first_epoch > 1 {
        verify_checkpoint::<B, Classifier<B>, GroupedAdamW<Classifier<B>, B>>(
            &paths.checkpoints(),
            first_epoch - 1,
            device,
        )?;
        training = training.checkpoint(first_epoch - 1);
    }
    let patience = match config.early_stopping_patience {
        None => None,
        Some(patience) => {
            // Patience counts from the best epoch of the whole run, also across a resume.
            let earlier = history
                .lock()
                .map_err(|e| TrainError::Run(e.to_string()))?
                .clone();
            let strategy = ValidLossPatience::new(patience, &earlier);
            if let Some(last) = earlier.last()
                && strategy.stopped_at(last.epoch)
            {
                return Err(TrainError::Run(format!(
                    "the run in {} stopped early at epoch {} (no better validation loss since \
                     epoch {}): nothing to resume",
                    paths.dir.display(),
                    last.epoch,
                    strategy.best_epoch()
                )));
            }
            Some(strategy)
        }
    };
    let mut rules = StopRules::new(patience);
    if let Some(group) = group {
        rules = rules.with_agreement(Arc::new(move |yes, what| group.any(yes, what)));
    }
    training = training.early_stopping(rules.clone());
    if config.devices > 1 {
        training = training.with_training_strategy(
            ExecutionStrategy::MultiDevice(
                devices_like::<B>(device, config.devices)?,
                MultiDeviceOptim::OptimMainDevice,
            )
            .into(),
        );
    }
    let result = training.launch(Learner::new(classifier, optimizer, schedule));
    // A stop that is not early stopping (a full disk, a checkpoint that could not be saved) is
    // an error: the run did not finish its epochs.
    if let Some(reason) = interrupter.get_message() {
        return Err(TrainError::Run(format!(
            "training stopped: {reason}; the last complete checkpoint in {} continues it \
             (--resume)",
            paths.checkpoints().display()
        )));
    }
    if let Some(epoch) = rules.diverged_at() {
        // The diverged epoch's checkpoint holds NaN weights: remove it, so that the last
        // checkpoint on disk (and what --resume would continue) is the last good one.
        let kept = remove_checkpoint(&paths.checkpoints(), epoch);
        return Err(TrainError::Run(format!(
            "the loss became NaN or infinite in epoch {epoch}: training stopped and no model was \
             saved ({}); lower the learning rate (now {}) or set grad_clip",
            match (kept, epoch > 1) {
                (Ok(()), true) => format!(
                    "the checkpoint of epoch {} in {} is the last good state",
                    epoch - 1,
                    paths.checkpoints().display()
                ),
                (Ok(()), false) => "no epoch finished with a finite loss".to_string(),
                (Err(e), _) => format!("removing the diverged checkpoint failed: {e}"),
            },
            config.lr
        )));
    }
    Ok(result.model.model)
}

/// Removes the checkpoint files (`model-N`, `optim-N`, `scheduler-N`) of `epoch`.
fn remove_checkpoint(dir: &Path, epoch: usize) -> std::io::Result<()> {
    let suffix = format!("-{epoch}.mpk");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(&suffix) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// A trained model with what its saved folder records.
struct Trained<B: VitBackend> {
    model: ZooModel<B>,
    config: ZooConfig,
    input: [usize; 3],
    mean: Vec<f32>,
    std: Vec<f32>,
    class_names: Vec<String>,
    epochs_run: usize,
}

/// Saves the trained model (preprocessed as the training did: squashed, bilinear, the run's
/// normalisation), the logs and the curves.
fn save_results<B: VitBackend>(
    trained: Trained<B>,
    history: &[EpochRecord],
    paths: &RunPaths,
) -> Result<()> {
    let mut pretrained_cfg = trained.config.default_pretrained_cfg();
    pretrained_cfg.input_size = trained.input;
    pretrained_cfg.crop_pct = 1.0;
    pretrained_cfg.crop_mode = "squash".into();
    pretrained_cfg.interpolation = "bilinear".into();
    pretrained_cfg.mean = trained.mean.iter().map(|&v| v as f64).collect();
    pretrained_cfg.std = trained.std.iter().map(|&v| v as f64).collect();
    let saved = PretrainedModel {
        model: trained.model,
        config: trained.config,
        pretrained_cfg,
        label_names: Some(trained.class_names),
        report: Default::default(),
        source: format!("vit train ({} epochs)", trained.epochs_run),
    };
    saved.save(&paths.model())?;
    write_logs(paths, history)?;
    if let Err(e) = write_plot(paths, history) {
        eprintln!("warning: no plot: {e}");
    }
    Ok(())
}

/// `count` devices of the kind of `main` (indices counted up from it). A backend with one
/// device that every index maps to (the CPU backends) gets `count` replicas of it — burn-train
/// then runs them on parallel threads; a missing GPU is an error.
fn devices_like<B: VitBackend>(main: &B::Device, count: usize) -> Result<Vec<B::Device>> {
    use burn::tensor::backend::DeviceOps;
    fn nth<D: DeviceOps>(id: DeviceId, i: usize) -> D {
        D::from_id(DeviceId {
            type_id: id.type_id,
            index_id: id.index_id + i as u16,
        })
    }
    let id = main.id();
    let available = B::device_count(id.type_id);
    let replicas = nth::<B::Device>(id, 1) == *main;
    if replicas {
        // One thread per replica: more than the cores only slows the run down.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if count > cores {
            return Err(TrainError::Config(format!(
                "devices is {count}, but this backend runs device replicas on the CPU's {cores} \
                 core(s): ask for at most {cores}"
            )));
        }
    }
    if !replicas && id.index_id as usize + count > available {
        return Err(TrainError::Run(format!(
            "devices is {count}, but the backend has {available} device(s) of this kind from \
             index {}",
            id.index_id
        )));
    }
    Ok((0..count).map(|i| nth(id, i)).collect())
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
