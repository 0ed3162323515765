//! Multi-node training as a user runs it, on 127.0.0.1: `vit orchestrator` and two `vit train
//! --nodes 2` processes. Every process is bounded in time (killed and failed past its limit).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vit_testing::ports::free_ports;
use vit_testing::{B, TempDir};
use vit_variants::zoo::PretrainedModel;

use crate::common::{tiny_train_config, vit};

fn vit_bin() -> std::ffi::OsString {
    std::env::var_os("VIT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vit").into())
}

/// A running `vit` process whose output goes to files.
struct Proc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Proc {
    fn spawn(dir: &Path, name: &str, args: &[&str]) -> Self {
        let (out, err) = (
            dir.join(format!("{name}.out")),
            dir.join(format!("{name}.err")),
        );
        let child = Command::new(vit_bin())
            .args(args)
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .expect("vit starts");
        Self { child, out, err }
    }

    /// Waits at most `limit`; (success, stdout, stderr). Past the limit: killed, test failed.
    fn wait(mut self, limit: Duration) -> (bool, String, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), read(&self.out), read(&self.err));
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("still running after {limit:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the process printed so far, named by its files.
    fn output(&self) -> String {
        format!(
            "--- {}:\n{}\n--- {}:\n{}",
            self.out.display(),
            read(&self.out),
            self.err.display(),
            read(&self.err)
        )
    }
}

/// A process's output file so far (empty if unreadable).
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default run shrunk to seconds, deterministic (no shifts, no drop-path) so that runs
/// can be compared: `batch` per node, `epochs`.
fn tiny_config(dir: &Path, name: &str, batch: usize, epochs: usize, lr: f64) -> String {
    let mut config = tiny_train_config(epochs);
    config["model"]["config"]["drop_path_rate"] = 0.0.into();
    config["augment"]["crop_padding"] = 0.into();
    config["batch_size"] = batch.into();
    config["lr"] = lr.into();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, config.to_string()).unwrap();
    path.display().to_string()
}

/// The CPU backend for every training process: a binary built with `wgpu` (as in CI) would
/// prefer WGPU, which on a machine without a GPU is lavapipe — slow, and slower still for
/// processes sharing the cores.
const BACKEND: [&str; 2] = ["--backend", "ndarray"];

/// `vit train` as node `rank` of 2, with the default `--collective-timeout`: nodes sharing the
/// cores with other tests drift apart (25 s seen on lavapipe, the first step most).
fn node_args<'a>(config: &'a str, out: &'a str, rank: &'a str, master: &'a str) -> Vec<&'a str> {
    let mut args = BACKEND.to_vec();
    args.extend([
        "train",
        "--config",
        config,
        "-o",
        out,
        "--nodes",
        "2",
        "--node-rank",
        rank,
        "--master",
        master,
    ]);
    args
}

/// Both nodes of a run of `config` into `out` (rank 1 first: it waits for rank 0): (rank 0,
/// rank 1), their output in `dir`.
fn spawn_nodes(dir: &Path, config: &str, out: &str, master: &str) -> (Proc, Proc) {
    let rank1 = Proc::spawn(dir, "rank1", &node_args(config, out, "1", master));
    let rank0 = Proc::spawn(dir, "rank0", &node_args(config, out, "0", master));
    (rank0, rank1)
}

/// [`node_args`] with `--collective-timeout SECS`.
fn node_args_timeout<'a>(
    config: &'a str,
    out: &'a str,
    rank: &'a str,
    master: &'a str,
    secs: &'a str,
) -> Vec<&'a str> {
    let mut args = node_args(config, out, rank, master);
    args.extend(["--collective-timeout", secs]);
    args
}

/// `vit orchestrator --port PORT`, its output in `dir`.
fn spawn_orchestrator(dir: &Path, port: u16) -> Proc {
    Proc::spawn(dir, "orch", &["orchestrator", "--port", &port.to_string()])
}

/// An orchestrator on free ports (the next two are the nodes' data ports): its address and
/// process.
fn start_orchestrator(dir: &Path) -> (String, Proc) {
    let port = free_ports(3);
    (format!("127.0.0.1:{port}"), spawn_orchestrator(dir, port))
}

/// Waits until `checkpoint_written` holds, at most 300 s, while every one of `procs` (the
/// orchestrator and the nodes) runs; one that exits first, or the time running out, fails the
/// test with their output.
fn wait_until(procs: &mut [&mut Proc], checkpoint_written: impl Fn() -> bool) {
    let start = Instant::now();
    while !checkpoint_written() {
        let exited = procs
            .iter_mut()
            .any(|proc| proc.child.try_wait().unwrap().is_some());
        if exited || start.elapsed() > Duration::from_secs(300) {
            let outputs: Vec<String> = procs.iter().map(|proc| proc.output()).collect();
            panic!(
                "no checkpoint after {:.0?} ({}):\n{}",
                start.elapsed(),
                if exited {
                    "a process exited"
                } else {
                    "time ran out"
                },
                outputs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn weights(model_dir: &Path) -> Vec<f32> {
    let model = PretrainedModel::<B>::load(model_dir, None, None, &Default::default())
        .unwrap()
        .model;
    vit_testing::values(&vit_train::cluster::flat::values(&model))
}

#[test]
fn two_nodes_train_together_like_one_node_with_twice_the_batch() {
    let dir = TempDir::new("multinode");
    let (master, _orchestrator) = start_orchestrator(&dir.0);
    let config = tiny_config(&dir.0, "b32", 32, 2, 2e-3);
    let out = dir.0.join("two").display().to_string();
    let limit = Duration::from_secs(480);
    let (rank0, rank1) = spawn_nodes(&dir.0, &config, &out, &master);
    let (ok0, out0, err0) = rank0.wait(limit);
    let (ok1, out1, err1) = rank1.wait(limit);
    assert!(ok0 && ok1, "rank 0: {err0}\nrank 1: {err1}");
    for out in [&out0, &out1] {
        assert!(
            out.contains("the weights are the same on all 2 nodes"),
            "{out}"
        );
    }
    // Rank 0 wrote the run folder; rank 1 only its checkpoints (and config).
    let two = dir.0.join("two");
    assert!(two.join("model/model.bpk").is_file() && two.join("metrics.csv").is_file());
    assert!(two.join("rank-1/learner/checkpoint/model-2.mpk").is_file());
    assert!(!two.join("rank-1/model").exists() && !two.join("rank-1/metrics.csv").exists());

    // One node with the two nodes' batch: the same training, up to float summation order
    // (4.7e-5 alone, 1.0e-4 under CI load: multi-threaded sums take other orders).
    let config = tiny_config(&dir.0, "b64", 64, 2, 2e-3);
    let one = dir.0.join("one").display().to_string();
    let (ok, _, err) = Proc::spawn(
        &dir.0,
        "single",
        &[&BACKEND[..], &["train", "--config", &config, "-o", &one]].concat(),
    )
    .wait(limit);
    assert!(ok, "{err}");
    let (a, b) = (
        weights(&two.join("model")),
        weights(&dir.0.join("one/model")),
    );
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let moved = a.iter().map(|x| x.abs()).fold(0.0, f32::max);
    eprintln!(
        "2 nodes × 32 vs 1 node × 64: max weight difference {diff:.2e} (largest weight {moved:.2})"
    );
    assert!(
        diff <= 5e-4,
        "2 nodes × 32 vs 1 node × 64: weights differ by {diff} (max {moved})"
    );
}

#[test]
fn a_killed_node_stops_the_other_with_its_rank_named_and_resume_finishes_the_run() {
    let dir = TempDir::new("multinode-kill");
    let (master, mut orchestrator) = start_orchestrator(&dir.0);
    let config = tiny_config(&dir.0, "run", 32, 12, 2e-3);
    let out = dir.0.join("run").display().to_string();
    let (mut rank0, mut rank1) = spawn_nodes(&dir.0, &config, &out, &master);
    // Kill rank 1 once it has a complete checkpoint of epoch 2 (burn-train writes the model, then
    // the optimiser, then the scheduler state, in the background: rank 0, stopping at once, may
    // lose the one it is writing — epoch 1's is then the common one).
    let checkpoints = dir.0.join("run/rank-1/learner/checkpoint");
    let complete = || {
        ["model", "optim", "scheduler"]
            .iter()
            .all(|n| checkpoints.join(format!("{n}-2.mpk")).is_file())
    };
    wait_until(&mut [&mut orchestrator, &mut rank0, &mut rank1], complete);
    rank1.child.kill().unwrap();
    let killed = Instant::now();
    let (ok, _, err) = rank0.wait(Duration::from_secs(120));
    assert!(!ok, "rank 0 went on alone");
    eprintln!(
        "rank 0 stopped {:.1} s after rank 1 was killed: {err}",
        killed.elapsed().as_secs_f64()
    );
    assert!(
        killed.elapsed() < Duration::from_secs(25),
        "{:?}",
        killed.elapsed()
    );
    assert!(err.contains("rank 0") && err.contains("rank 1"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(!crate::panicked(&err), "{err}");

    // Both nodes again with --resume: they agree on the last checkpoint both have and finish.
    let resume = |rank: &'static str| {
        let mut args = node_args(&config, &out, rank, &master);
        args.push("--resume");
        Proc::spawn(&dir.0, &format!("resume{rank}"), &args)
    };
    let (r1, r0) = (resume("1"), resume("0"));
    // Generous limits: under CI load a debug-build epoch can take tens of seconds.
    let (ok0, out0, err0) = r0.wait(Duration::from_secs(600));
    let (ok1, _, err1) = r1.wait(Duration::from_secs(120));
    assert!(ok0 && ok1, "rank 0: {err0}\nrank 1: {err1}");
    assert!(out0.contains("after 12 epochs"), "{out0}");
}

#[test]
fn bad_multinode_setups_are_errors_that_say_what_is_wrong() {
    let dir = TempDir::new("multinode-bad");
    let port = free_ports(3);
    let master = format!("127.0.0.1:{port}");
    let quick = Duration::from_secs(60);
    // Nobody at the master's address: the node gives up after its timeout.
    let config = tiny_config(&dir.0, "a", 32, 1, 2e-3);
    let out = dir.0.join("a").display().to_string();
    let args = node_args_timeout(&config, &out, "0", &master, "3");
    let (ok, _, err) = Proc::spawn(&dir.0, "alone", &args).wait(quick);
    assert!(
        !ok && err.contains("could not reach the orchestrator"),
        "{err}"
    );

    // A node whose partner never comes: it gives up after its timeout, saying what it waited for.
    let _orchestrator = spawn_orchestrator(&dir.0, port);
    let (ok, _, err) = Proc::spawn(&dir.0, "lonely", &args).wait(quick);
    assert!(!ok && err.contains("all 2 nodes to join"), "{err}");

    // Nodes with different configs (the orchestrator forgot the lonely node): both refused, by
    // name.
    let other = tiny_config(&dir.0, "b", 32, 1, 1e-3);
    let out_b = dir.0.join("b").display().to_string();
    let rank0 = Proc::spawn(&dir.0, "rank0", &node_args(&config, &out, "0", &master));
    let (ok, _, err) =
        Proc::spawn(&dir.0, "rank1", &node_args(&other, &out_b, "1", &master)).wait(quick);
    assert!(!ok && err.contains("another training config"), "{err}");
    let (ok, _, err) = rank0.wait(quick);
    assert!(
        !ok && err.contains("rank(s) 1 run another training config"),
        "{err}"
    );

    // A node whose data port is taken.
    let taken = std::net::TcpListener::bind(("127.0.0.1", port + 1)).unwrap();
    let (ok, _, err) = vit(&node_args(&config, &out, "0", &master));
    assert!(
        !ok && err.contains(&format!("the data port {} cannot be opened", port + 1)),
        "{err}"
    );
    drop(taken);

    // A second orchestrator on the same port.
    let (ok, _, err) = vit(&["orchestrator", "--port", &port.to_string()]);
    assert!(
        !ok && err.contains(&format!("port {port} cannot be opened")),
        "{err}"
    );
    // A rank out of range, and --nodes with several local devices.
    let (ok, _, err) = vit(&node_args(&config, &out, "2", &master));
    assert!(!ok && err.contains("--node-rank 2"), "{err}");
    let mut devices = node_args(&config, &out, "0", &master);
    devices.extend(["--devices", "2"]);
    let (ok, _, err) = vit(&devices);
    assert!(!ok && err.contains("one device per process"), "{err}");
}

#[test]
fn a_run_finishes_and_saves_its_model_when_the_orchestrator_goes_away_after_joining() {
    let dir = TempDir::new("multinode-orchestrator-gone");
    let (master, mut orchestrator) = start_orchestrator(&dir.0);
    let config = tiny_config(&dir.0, "run", 32, 3, 2e-3);
    let out = dir.0.join("run").display().to_string();
    let (mut rank0, mut rank1) = spawn_nodes(&dir.0, &config, &out, &master);
    // Once epoch 1 is written, the nodes talk only to each other.
    let checkpoint = dir.0.join("run/learner/checkpoint/model-1.mpk");
    wait_until(&mut [&mut orchestrator, &mut rank0, &mut rank1], || {
        checkpoint.is_file()
    });
    orchestrator.child.kill().unwrap();
    let (ok0, out0, err0) = rank0.wait(Duration::from_secs(300));
    let (ok1, _, err1) = rank1.wait(Duration::from_secs(60));
    assert!(ok0 && ok1, "rank 0: {err0}\nrank 1: {err1}");
    for err in [&err0, &err1] {
        assert!(!err.contains("PANIC") && !crate::panicked(err), "{err}");
    }
    assert!(out0.contains("after 3 epochs"), "{out0}");
    assert!(dir.0.join("run/model/model.bpk").is_file());
}
