//! `cargo xtask bench`: builds the `vit` binary for one backend, runs every benchmark row in its
//! own process (`vit bench …`, optionally interleaved with the same row in PyTorch), prints a
//! table and saves the JSON under `target/bench/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::workspace_root;

pub const USAGE: &str = "usage: cargo xtask bench [options]

  --backend NAME            ndarray (default), flex, wgpu or cuda
  --batch N[,N…]            inference batch sizes (default 1,8)
  --runs N                  timed runs per row, median reported (default 5)
  --warmup N                untimed runs first (default 2)
  --reference-python PATH   a Python with torch + timm: run every row in PyTorch too, interleaved
  --main-job-epochs N       epochs of the main-job row (default 40, the config's; 0 skips it)
  --precision P             f32 (default), bf16 or f16: our rows under `--precision P`, PyTorch's under
                            torch.autocast (`--amp P`), the main job too (f16 with loss scaling)
  --only TEXT[,TEXT…]       only the rows whose arguments contain one of these texts
  --quick                   a tiny smoke configuration (seconds; debug build, so its times mean
                            nothing): what CI runs so the harness cannot rot
  --output FILE             where the JSON goes (default target/bench/bench-<backend>-<time>.json)";

struct Options {
    backend: String,
    batches: Vec<usize>,
    runs: usize,
    warmup: usize,
    python: Option<PathBuf>,
    quick: bool,
    output: Option<PathBuf>,
    main_job_epochs: usize,
    precision: String,
    only: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        backend: "ndarray".into(),
        batches: vec![1, 8],
        runs: 5,
        warmup: 2,
        python: None,
        quick: false,
        output: None,
        main_job_epochs: 40,
        precision: "f32".into(),
        only: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        let number = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match arg.as_str() {
            "--backend" => o.backend = value("--backend")?,
            "--batch" => {
                o.batches = value("--batch")?
                    .split(',')
                    .map(|b| number("--batch", b.to_string()))
                    .collect::<Result<_, _>>()?
            }
            "--runs" => o.runs = number("--runs", value("--runs")?)?,
            "--warmup" => o.warmup = number("--warmup", value("--warmup")?)?,
            "--reference-python" => o.python = Some(value("--reference-python")?.into()),
            "--output" => o.output = Some(value("--output")?.into()),
            "--main-job-epochs" => {
                o.main_job_epochs = number("--main-job-epochs", value("--main-job-epochs")?)?
            }
            "--precision" => o.precision = value("--precision")?,
            "--only" => o.only = value("--only")?.split(',').map(str::to_string).collect(),
            "--quick" => o.quick = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    if !["ndarray", "flex", "wgpu", "cuda"].contains(&o.backend.as_str()) {
        return Err(format!(
            "--backend {}: expected ndarray, flex, wgpu or cuda",
            o.backend
        ));
    }
    if !["f32", "bf16", "f16"].contains(&o.precision.as_str()) {
        return Err(format!(
            "--precision {}: expected f32, bf16 or f16",
            o.precision
        ));
    }
    Ok(o)
}

impl Options {
    /// `bench_torch.py` / `train_torch.py` arguments for the precision (autocast).
    fn torch_amp(&self) -> Vec<String> {
        match self.precision.as_str() {
            "f32" => Vec::new(),
            p => vec!["--amp".into(), p.into()],
        }
    }
}

/// One benchmark row: the arguments after `vit bench` / `bench_torch.py`.
fn rows(o: &Options) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if o.quick {
        return vec![
            s(&["--matmul", "128"]),
            s(&["--model", "vit_32px", "--batch", "2"]),
            s(&["--model", "vit_32px", "--batch", "8", "--train"]),
        ];
    }
    let matmul = if o.backend == "ndarray" || o.backend == "flex" {
        "1024"
    } else {
        "4096"
    };
    let mut rows = vec![s(&["--matmul", matmul])];
    for model in [
        "vit_tiny_patch16_224",
        "vit_small_patch16_224",
        "vit_base_patch16_224",
        "deit_small_distilled_patch16_224",
        "swin_tiny_patch4_window7_224",
        // The catalogue's families: DINOv2 (registers, LayerScale) at 224, SigLIP (attention
        // pool), CLIP (pre-norm).
        "vit_small_patch14_reg4_dinov2@224",
        "vit_base_patch16_siglip_224",
        "vit_base_patch32_clip_224",
        // The rotary family: EVA-02 (interleaved RoPE, separate q/k/v, packed SwiGLU) and DINOv3
        // (rotate-half RoPE, registers) at 224.
        "eva02_small_patch14_224",
        "vit_small_patch16_dinov3@224",
        // Catalogue part 3: Swin V2 (cosine attention, bias MLP) and XCiT (cross-covariance
        // attention, convolutions).
        "swinv2_tiny_window8_256",
        "xcit_small_12_p16_224",
    ] {
        for batch in &o.batches {
            rows.push(s(&["--model", model, "--batch", &batch.to_string()]));
        }
    }
    rows.push(s(&[
        "--model",
        "vit_tiny_patch16_224",
        "--batch",
        "8",
        "--train",
    ]));
    rows.push(s(&["--model", "vit_32px", "--batch", "64", "--train"]));
    rows.push(s(&[
        "--model",
        "eva02_small_patch14_224",
        "--batch",
        "8",
        "--train",
    ]));
    if !o.only.is_empty() {
        rows.retain(|row| {
            let text = row.join(" ");
            o.only.iter().any(|only| text.contains(only.as_str()))
        });
    }
    rows
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds `vit` for the backend; returns the binary's path.
fn build(o: &Options) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "-p", "vit-cli"]);
    if o.quick {
        // The test build's features, so CI reuses what `cargo test` compiled (vit-ops' own tests
        // turn on its `flex` feature in that build).
        cmd.args(["--features", "wgpu,vit-ops/flex"]);
    } else {
        // Both CPU backends in one binary: switching between them needs no second build.
        let features = match o.backend.as_str() {
            "ndarray" | "flex" => "ndarray,flex",
            other => other,
        };
        cmd.args(["--release", "--no-default-features", "--features", features]);
    }
    eprintln!(
        "building vit ({}, {})…",
        o.backend,
        if o.quick { "debug" } else { "release" }
    );
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building vit failed".into());
    }
    Ok(target_dir()
        .join(if o.quick { "debug" } else { "release" })
        .join("vit"))
}

/// Runs a command that prints one JSON line; returns it parsed.
fn run_json(mut cmd: Command, what: &str) -> Result<Value, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("{what}: not a JSON result ({e}): {stdout}"))
}

fn python_version(python: &Path) -> Value {
    let out = Command::new(python)
        .args([
            "-c",
            "import torch, timm; print(torch.__version__, timm.__version__)",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let mut parts = text.split_whitespace();
            json!({"torch": parts.next(), "timm": parts.next()})
        }
        _ => Value::Null,
    }
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown");
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "os": std::env::consts::OS,
        "rustc": rustc,
        "burn": "0.21.0",
    })
}

fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn row_name(v: &Value) -> String {
    let name = match v.get("matmul") {
        Some(n) => format!("matmul {n}x{n}"),
        None => format!(
            "{} {} b{}",
            v["model"].as_str().unwrap_or("?"),
            v["mode"].as_str().unwrap_or("?"),
            v["batch"]
        ),
    };
    match v["precision"].as_str() {
        Some(p) if p != "f32" => format!("{name} {p}"),
        _ => name,
    }
}

pub fn bench(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let vit = build(&o)?;
    let script = workspace_root().join("xtask/bench_torch.py");
    let runs = if o.quick { 2 } else { o.runs };
    let warmup = if o.quick { 1 } else { o.warmup };
    let timing = [
        "--runs".to_string(),
        runs.to_string(),
        "--warmup".to_string(),
        warmup.to_string(),
    ];
    let mut results = Vec::new();
    let mut ceiling = None;
    println!(
        "{:<44} {:>10} {:>8} {:>9} {:>8} {:>9} {:>10} {:>7}",
        "row", "median ms", "spread", "img/s", "GFLOP/s", "peak MiB", "torch img/s", "ours/pt"
    );
    for row in rows(&o) {
        let mut cmd = Command::new(&vit);
        cmd.args(["--backend", &o.backend, "bench"])
            .args(&row)
            .args(&timing)
            .args(["--precision", &o.precision]);
        let ours = run_json(cmd, &format!("vit bench {}", row.join(" ")))?;
        let reference = match &o.python {
            Some(python) => {
                let mut cmd = Command::new(python);
                cmd.arg(&script)
                    .args(&row)
                    .args(&timing)
                    .args(o.torch_amp());
                Some(run_json(cmd, &format!("bench_torch.py {}", row.join(" ")))?)
            }
            None => None,
        };
        let median = f(&ours, "median_ms").unwrap_or(f64::NAN);
        let spread =
            (f(&ours, "max_ms").unwrap_or(median) - f(&ours, "min_ms").unwrap_or(median)) / median;
        let gflops = f(&ours, "gflops_per_s").unwrap_or(f64::NAN);
        if ours.get("matmul").is_some() {
            ceiling = Some(gflops);
        }
        let ratio = reference
            .as_ref()
            .and_then(|r| Some(f(r, "median_ms")? / median));
        let fmt_opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
        println!(
            "{:<44} {:>10.1} {:>7.0}% {:>9} {:>8.1} {:>9} {:>10} {:>7}",
            row_name(&ours),
            median,
            spread * 100.0,
            fmt_opt(f(&ours, "images_per_s"), 1),
            gflops,
            fmt_opt(f(&ours, "peak_rss_mib"), 0),
            fmt_opt(reference.as_ref().and_then(|r| f(r, "images_per_s")), 1),
            fmt_opt(ratio, 2),
        );
        let mut entry = json!({"ours": ours, "pytorch": reference});
        if let (Some(c), false) = (ceiling, entry["ours"].get("matmul").is_some()) {
            entry["fraction_of_matmul_ceiling"] = json!(gflops / c);
        }
        if let Some(r) = ratio {
            entry["speed_ours_over_pytorch"] = json!(r);
        }
        results.push(entry);
    }
    let epochs = if o.quick { 1 } else { o.main_job_epochs };
    if epochs > 0 {
        let entry = main_job(&o, &vit, epochs)?;
        results.push(entry);
    }
    println!(
        "spread = (max − min) / median of the timed runs; ours/pt = PyTorch time / our time (>1: we are faster)"
    );
    let report = json!({
        "backend": o.backend,
        "precision": o.precision,
        "quick": o.quick,
        "runs": runs,
        "warmup": warmup,
        "machine": machine(),
        "python": o.python.as_deref().map(python_version),
        "rows": results,
    });
    let when = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = o.output.clone().unwrap_or_else(|| {
        target_dir()
            .join("bench")
            .join(format!("bench-{}-{when}.json", o.backend))
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report).expect("json"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    println!("saved {}", path.display());
    Ok(())
}

/// The main job: `vit train` with the default config (configs/train_digits.json) for `epochs`,
/// wall time and test accuracy, beside the same recipe in PyTorch + timm (xtask/train_torch.py).
fn main_job(o: &Options, vit: &Path, epochs: usize) -> Result<Value, String> {
    let run_dir = target_dir()
        .join("bench")
        .join(format!("main-job-{}", std::process::id()));
    let start = std::time::Instant::now();
    let out = Command::new(vit)
        .args([
            "--backend",
            &o.backend,
            "train",
            "--epochs",
            &epochs.to_string(),
            "--precision",
            &o.precision,
        ])
        // The recipe's warm-up (3 epochs), shortened only when the run is shorter than that.
        .args(["--set", &format!("warmup_epochs={}", warmup_epochs(epochs))])
        .arg("-o")
        .arg(&run_dir)
        .output()
        .map_err(|e| format!("vit train: cannot start: {e}"))?;
    let wall = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&run_dir);
    if !out.status.success() {
        return Err(format!(
            "vit train failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let accuracy = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("vit train printed no test accuracy:\n{stdout}"))?;
    let ours = json!({"main_job": "train_digits", "epochs": epochs, "precision": o.precision, "wall_s": wall, "test_accuracy": accuracy / 100.0});
    let reference = match &o.python {
        Some(python) => {
            let mut cmd = Command::new(python);
            cmd.arg(workspace_root().join("xtask/train_torch.py"))
                .args(["--epochs", &epochs.to_string()])
                .args(["--warmup-epochs", &warmup_epochs(epochs).to_string()])
                .args(o.torch_amp());
            Some(run_json(cmd, "train_torch.py")?)
        }
        None => None,
    };
    let ratio = reference
        .as_ref()
        .and_then(|r| Some(f(r, "wall_s")? / wall));
    let torch_acc = reference.as_ref().and_then(|r| f(r, "test_accuracy"));
    println!(
        "{:<44} {:>10.0} {:>8} {:>9} {:>8} {:>9} {:>10} {:>7}",
        format!(
            "main job: vit train, {epochs} epochs (acc {:.1} %)",
            accuracy
        ),
        wall * 1e3,
        "-",
        "-",
        "-",
        "-",
        torch_acc.map_or("-".into(), |a| format!("acc {:.1}%", a * 100.0)),
        ratio.map_or("-".into(), |r| format!("{r:.2}")),
    );
    let mut entry = json!({"ours": ours, "pytorch": reference});
    if let Some(r) = ratio {
        entry["speed_ours_over_pytorch"] = json!(r);
    }
    Ok(entry)
}

/// The default config's warm-up (3 epochs), or one less than a shorter run's epochs.
fn warmup_epochs(epochs: usize) -> usize {
    3.min(epochs.saturating_sub(1))
}
