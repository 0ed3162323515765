//! `vit train`: a training run from a config file (or the default digits run), with command-line
//! overrides of single fields.

use std::path::PathBuf;
use std::time::Duration;
use vit_core::VitBackend;

use burn::backend::Autodiff;
use clap::Args;
use vit_train::cluster::NodeSpec;
use vit_train::config::DataSpec;
use vit_train::{Start, TrainConfig, train_on_nodes};

use crate::backend::BackendJob;
use crate::precision_arg::PrecisionArg;

/// `vit train` arguments.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training config (JSON, e.g. configs/train_digits.json); default: the built-in digits run.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where checkpoints, the log and the model go.
    #[arg(long, short, default_value = "target/runs/digits")]
    pub output: PathBuf,
    /// Override `epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override `batch_size`.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override `lr`.
    // Negative numbers reach the config's check (which names the field), not clap's
    // "unexpected argument".
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Override `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override `num_workers`.
    #[arg(long)]
    pub num_workers: Option<usize>,
    /// Override `devices` (data-parallel on this many devices of the backend).
    #[arg(long)]
    pub devices: Option<usize>,
    /// Override `precision` (autocast; weights, optimiser state and saved files stay f32;
    /// f16 adds dynamic loss scaling).
    #[command(flatten)]
    pub precision: PrecisionArg,
    /// Fine-tune from pretrained weights: a timm folder, a folder `vit train`/`vit convert`
    /// wrote, or a bare weights file (with `--set model=…`). The architecture, input size and
    /// normalisation follow the checkpoint unless set explicitly.
    #[arg(long, value_name = "MODEL")]
    pub init: Option<PathBuf>,
    /// The data: `digits`, `cifar10:PATH`, `cifar100:PATH`, `cifar100-coarse:PATH` or
    /// `image-folder:PATH` (one subfolder per class). The default model's channels and
    /// normalisation follow it.
    #[arg(long, value_name = "SPEC")]
    pub data: Option<String>,
    /// Override any field by its dotted path, e.g. `--set weight_decay=0.1`,
    /// `--set augment.hflip=true`, `--set 'data={"kind":"cifar10","path":"data/cifar"}'`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Continue the run in the output folder from its last complete epoch (model, optimiser
    /// and schedule state); the config is the run's own `train_config.json`.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Start afresh in an output folder that holds a previous run, removing that run's
    /// results (config, logs, curves, model, checkpoints); without it such a folder is refused.
    #[arg(long)]
    pub overwrite: bool,
    /// Print the effective config (JSON, after overrides) and exit: a starting point to edit.
    #[arg(long)]
    pub print_config: bool,
    /// Multi-node training: this run is one of N processes (nodes), each on its shard of the
    /// data, gradients averaged every step (burn-collective); needs `vit orchestrator` running
    /// and --node-rank and --master. See README → "Training on several machines".
    #[arg(long, value_name = "N", requires_all = ["node_rank", "master"])]
    pub nodes: Option<usize>,
    /// This node's rank, 0 to N−1 (rank 0 writes the run folder).
    #[arg(long, value_name = "R", requires = "nodes")]
    pub node_rank: Option<usize>,
    /// HOST:PORT of the orchestrator (`vit orchestrator --port PORT`).
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub master: Option<String>,
    /// HOST:PORT the other nodes reach this node at (its data service listens on PORT);
    /// default on one machine: 127.0.0.1 and the master's port + 1 + rank.
    #[arg(long, value_name = "HOST:PORT", requires = "nodes")]
    pub node_address: Option<String>,
    /// Seconds one collective call (joining, a step's all-reduce) may wait for the other nodes
    /// before this node stops with an error (a node died, never joined, or is this far behind).
    #[arg(long, value_name = "SECS", default_value_t = 120.0, requires = "nodes")]
    pub collective_timeout: f64,
}

impl TrainArgs {
    /// The multi-node settings, when --nodes is given.
    fn node_spec(&self) -> Result<Option<NodeSpec>, String> {
        let Some(nodes) = self.nodes else {
            return Ok(None);
        };
        // At most a week: deadlines are computed from now, and any longer is a hang.
        if !(self.collective_timeout > 0.0 && self.collective_timeout <= 604_800.0) {
            return Err(format!(
                "--collective-timeout {}: expected a number of seconds > 0 and at most 604800 \
                 (a week)",
                self.collective_timeout
            ));
        }
        Ok(Some(NodeSpec {
            nodes,
            rank: self.node_rank.unwrap_or_default(),
            master: self.master.clone().unwrap_or_default(),
            node_address: self.node_address.clone(),
            timeout: Duration::from_secs_f64(self.collective_timeout),
        }))
    }
}

/// Runs the training on the chosen backend (with autodiff).
pub struct TrainJob(pub TrainArgs);

impl BackendJob for TrainJob {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let args = self.0;
        let nodes = args.node_spec()?;
        let node_dir = match &nodes {
            Some(spec) => spec.node_dir(&args.output),
            None => args.output.clone(),
        };
        let saved = node_dir.join("train_config.json");
        let mut config = match &args.config {
            Some(path) => TrainConfig::load(path)?,
            None if args.resume => TrainConfig::load(&saved)?,
            None => TrainConfig::digits_default(),
        };
        if let Some(v) = args.epochs {
            config.epochs = v;
        }
        if let Some(v) = args.batch_size {
            config.batch_size = v;
        }
        if let Some(v) = args.lr {
            config.lr = v;
        }
        if let Some(v) = args.seed {
            config.seed = v;
        }
        if let Some(v) = args.num_workers {
            config.num_workers = v;
        }
        if let Some(v) = args.devices {
            config.devices = v;
        }
        if let Some(v) = args.precision.precision {
            config.precision = v;
        }
        // The one-flag paths: fine-tuning and data follow the checkpoint and the data unless
        // --set says otherwise (applied after).
        if let Some(from) = &args.init {
            config = config.with_init(from);
        }
        if let Some(spec) = &args.data {
            config = config.with_data(DataSpec::parse(spec)?);
        }
        for assignment in &args.set {
            let (field, value) = assignment
                .split_once('=')
                .ok_or_else(|| format!("--set {assignment}: expected FIELD=VALUE"))?;
            config.set(field.trim(), value.trim())?;
        }
        if args.print_config {
            return Ok(serde_json::to_string_pretty(&config)?);
        }
        let start = match (args.resume, args.overwrite) {
            (true, _) => Start::Resume,
            (false, true) => Start::Overwrite,
            (false, false) => Start::Fresh,
        };
        let summary =
            train_on_nodes::<Autodiff<B>>(&config, &args.output, device, start, nodes.as_ref())?;
        let mut report = String::new();
        for line in &summary.init_report {
            report += &format!("{line}\n");
        }
        report += &format!(
            "test accuracy {:.2} % ({} images) after {} epochs in {:.0} s ({} trainable \
             parameters)\nper class:",
            summary.test_accuracy * 100.0,
            summary.per_class.iter().map(|c| c.images).sum::<usize>(),
            summary.history.last().map_or(0, |r| r.epoch),
            summary.seconds,
            summary.trainable_params
        );
        for class in &summary.per_class {
            report += &format!(
                " {}: {:.1} % ({})",
                class.name,
                class.accuracy * 100.0,
                class.images
            );
        }
        if let Some((rank, nodes)) = summary.node {
            report += &format!(
                "\nnode {rank} of {nodes}: the weights are the same on all {nodes} nodes after \
                 the last step"
            );
            if rank > 0 {
                report += &format!(
                    "\ncheckpoints: {} (rank 0 saves the model, log and plot)",
                    node_dir.join("learner").display()
                );
                return Ok(report);
            }
        }
        report += &format!(
            "\nmodel: {}\nlog: {}\nplot: {}",
            summary.model_dir.display(),
            summary.log.display(),
            summary.plot.display()
        );
        Ok(report)
    }
}
