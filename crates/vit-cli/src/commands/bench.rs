//! `vit bench`: time one model (inference or one training step) or a matrix multiply on this
//! binary's backend, in this process, and print one JSON line. `cargo xtask bench` runs it once
//! per row, so every row gets a fresh process and its own peak memory.

use std::time::Instant;
use vit_core::VitBackend;

use burn::backend::Autodiff;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Distribution, Int, Tensor};
use clap::Args;
use serde_json::json;
use vit_core::VisionTransformerConfig;
use vit_core::layers::linear::linear_parts;
use vit_core::layers::{AttentionPath, set_preferred_attention};
use vit_core::model::{ModelConfig, VisionModel};
use vit_variants::zoo::ZooConfig;

use crate::backend::BackendJob;
use crate::precision_arg::PrecisionArg;

/// The small 32×32 ViT of the training-step row (CIFAR-sized; the PyTorch script builds the same).
pub const SMALL_32: &str = "vit_32px";

/// What to time.
#[derive(Debug, Clone)]
pub enum BenchTarget {
    /// A model preset (or [`SMALL_32`]) at a batch size; `train` times forward + backward + AdamW.
    Model {
        /// Preset name.
        name: String,
        /// Images per step.
        batch: usize,
        /// Time a training step instead of inference.
        train: bool,
    },
    /// A square float32 matrix multiply `[n, n] × [n, n]`: the backend's compute ceiling.
    Matmul {
        /// Side.
        n: usize,
    },
}

/// `vit bench` arguments: what to time, warm-up runs, then timed runs.
#[derive(Args, Debug)]
pub struct Bench {
    /// Preset name, `PRESET@SIZE` (built for a square input of SIZE pixels), or `vit_32px` (the
    /// 32×32 training-step model).
    #[arg(long, conflicts_with = "matmul", required_unless_present = "matmul")]
    pub model: Option<String>,
    /// Images per step.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Time one training step (forward, backward, AdamW) instead of inference.
    #[arg(long)]
    pub train: bool,
    /// Time an `[n, n] × [n, n]` product instead, as the models' Linear layers run it
    /// (`vit_ops::linear`: vit-ops' GEMM on the CPU backends, Burn's matmul elsewhere or with
    /// `VIT_OPS=burn`; in the `--precision`): the GEMM ceiling.
    #[arg(long)]
    pub matmul: Option<usize>,
    /// Untimed runs first (kernel compilation, autotuning, allocator warm-up).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Attention path of the model rows: `fused` (the default: vit-ops' kernel on the CPU,
    /// Burn's flash attention on CubeCL backends) or `materialized` scores.
    #[arg(long, value_enum, default_value_t = AttentionArg::Fused)]
    pub attention: AttentionArg,
    /// Autocast precision.
    #[command(flatten)]
    pub precision: PrecisionArg,
}

/// `--attention` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionArg {
    /// The backend's fused attention.
    Fused,
    /// Scores materialised as a tensor, then softmax.
    Materialized,
}

impl From<AttentionArg> for AttentionPath {
    fn from(a: AttentionArg) -> Self {
        match a {
            AttentionArg::Fused => Self::Fused,
            AttentionArg::Materialized => Self::Materialized,
        }
    }
}

impl Bench {
    /// What the arguments ask to time.
    pub fn target(&self) -> Result<BenchTarget, String> {
        match (&self.model, self.matmul) {
            (_, Some(n)) => Ok(BenchTarget::Matmul { n }),
            (Some(name), None) => Ok(BenchTarget::Model {
                name: name.clone(),
                batch: self.batch,
                train: self.train,
            }),
            (None, None) => Err("bench needs --model NAME or --matmul N".into()),
        }
    }
}

/// The config of a benchmark model name: a preset, `vit_32px`, or `preset@size` (the preset built
/// for a square input of `size` pixels, as timm's `img_size=size`).
pub fn bench_config(name: &str) -> Result<ZooConfig, String> {
    if let Some((preset, size)) = name.split_once('@') {
        let size: usize = size
            .parse()
            .map_err(|_| format!("`{name}`: expected PRESET@SIZE with a pixel count"))?;
        return Ok(ZooConfig::preset(preset)
            .map_err(|e| e.to_string())?
            .with_img_size([size, size]));
    }
    if name == SMALL_32 {
        return Ok(ZooConfig::Vit(
            VisionTransformerConfig::new()
                .with_img_size([32, 32])
                .with_patch_size(4)
                .with_embed_dim(64)
                .with_depth(2)
                .with_num_heads(4)
                .with_num_classes(10),
        ));
    }
    ZooConfig::preset(name).map_err(|e| e.to_string())
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn time_runs(warmup: usize, runs: usize, mut step: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        step();
    }
    (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            step();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

impl BackendJob for Bench {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        B::seed(&device, 0);
        set_preferred_attention(self.attention.into());
        let _autocast = self.precision.enter::<B>(&device)?;
        let (times, flops, images, label) = match &self.target()? {
            BenchTarget::Matmul { n } => {
                let n = *n;
                let a = Tensor::<B, 2>::random([n, n], Distribution::Default, &device);
                let b = Tensor::<B, 2>::random([n, n], Distribution::Default, &device);
                let times = time_runs(self.warmup, self.runs, || {
                    let c = linear_parts(a.clone(), b.clone(), None);
                    let _ = c.slice([0..1, 0..1]).into_data();
                });
                (times, 2.0 * (n as f64).powi(3), 0, json!({"matmul": n}))
            }
            BenchTarget::Model { name, batch, train } => {
                let config = bench_config(name)?;
                let [c, h, w] = config.input_size();
                let batch = *batch;
                let macs = config.macs() as f64 * batch as f64;
                let times = if *train {
                    train_step_times::<Autodiff<B>>(
                        &config,
                        batch,
                        &device,
                        self.warmup,
                        self.runs,
                    )?
                } else {
                    let model = config.try_init::<B>(&device)?;
                    let x =
                        Tensor::<B, 4>::random([batch, c, h, w], Distribution::Default, &device);
                    time_runs(self.warmup, self.runs, || {
                        let _ = model.forward(x.clone()).into_data();
                    })
                };
                // A training step costs about 3 forward passes (forward, and twice for backward).
                let factor = if *train { 3.0 } else { 1.0 };
                let mode = if *train { "train" } else { "infer" };
                (
                    times,
                    2.0 * macs * factor,
                    batch,
                    json!({"model": name, "mode": mode, "batch": batch,
                           "attention": format!("{:?}", self.attention).to_lowercase()}),
                )
            }
        };
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let mut out = label;
        let fields = out.as_object_mut().expect("an object");
        fields.insert("backend".into(), json!(B::name(&device)));
        fields.insert("precision".into(), json!(self.precision.get().to_string()));
        fields.insert("runs_ms".into(), json!(times));
        fields.insert("median_ms".into(), json!(median));
        fields.insert("min_ms".into(), json!(sorted[0]));
        fields.insert("max_ms".into(), json!(sorted[sorted.len() - 1]));
        fields.insert("gflops_per_s".into(), json!(flops / (median / 1e3) / 1e9));
        if images > 0 {
            fields.insert("images_per_s".into(), json!(images as f64 / (median / 1e3)));
        }
        fields.insert("peak_rss_mib".into(), json!(peak_rss_mib()));
        fields.insert(
            "threads".into(),
            json!(std::thread::available_parallelism().map_or(1, |n| n.get())),
        );
        Ok(out.to_string())
    }
}

/// Times forward + cross-entropy + backward + AdamW step on random images and labels.
fn train_step_times<A: vit_core::VitAutodiffBackend>(
    config: &ZooConfig,
    batch: usize,
    device: &A::Device,
    warmup: usize,
    runs: usize,
) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let [c, h, w] = config.input_size();
    let classes = config.num_classes().max(1);
    let mut model = config.try_init::<A>(device)?;
    let mut optim = AdamWConfig::new().init();
    let x = Tensor::<A, 4>::random([batch, c, h, w], Distribution::Default, device);
    let labels: Vec<i64> = (0..batch).map(|i| (i % classes) as i64).collect();
    let y = Tensor::<A, 1, Int>::from_data(labels.as_slice(), device);
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut step = || {
        let logits = model.forward(x.clone());
        let loss = loss_fn.forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-4, model.clone(), grads);
        // Reading the loss back waits for this step's forward (and, through the weights, the
        // previous update) on asynchronous backends.
        let _ = loss.into_data();
    };
    Ok(time_runs(warmup, runs, &mut step))
}
