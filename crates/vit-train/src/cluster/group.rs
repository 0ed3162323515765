//! One node of a multi-node run on burn-collective (its orchestrator and ring all-reduce over
//! WebSockets): joining, agreeing, and the all-reduces, each under the watchdog.

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use burn_collective::{
    CollectiveConfig, CollectiveError, GlobalCollectiveError, PeerId, ReduceOperation,
};
use burn_communication::Address;
use vit_core::VitAutodiffBackend;

use crate::cluster::watchdog::Watchdog;
use crate::cluster::{NodeSpec, flat};
use crate::error::{Result, TrainError};

/// This process's membership of a multi-node run (cheap to clone: shared).
#[derive(Debug, Clone)]
pub struct NodeGroup {
    spec: NodeSpec,
    /// This node's one local peer in burn-collective.
    peer: PeerId,
    dog: Watchdog,
    /// Whether the weights were compared across nodes since this run (re)started.
    verified: Arc<AtomicBool>,
    /// Training steps all-reduced so far in this process (for the error messages).
    steps: Arc<AtomicUsize>,
}

impl NodeGroup {
    /// Joins the run: checks that this node's data port is free and the orchestrator reachable,
    /// registers with it (burn-collective) and waits until all nodes have, then compares the
    /// nodes' `config_hash`es (a node started with another config or mode is refused by name) —
    /// each within the timeout.
    pub fn join<IB: Backend>(
        spec: &NodeSpec,
        config_hash: u64,
        device: &IB::Device,
    ) -> Result<Self> {
        spec.validate()?;
        let (master_host, master_port) = spec.master()?;
        let (host, port) = spec.data_address()?;
        // burn-collective binds the data service in a background task and only logs a failure
        // (the other nodes would then wait for ever): try the port here first to report it.
        TcpListener::bind(("0.0.0.0", port)).map_err(|e| {
            TrainError::Config(format!(
                "rank {}: the data port {port} cannot be opened ({e}); choose another with \
                 --node-address HOST:PORT",
                spec.rank
            ))
        })?;
        // burn-collective retries an unreachable orchestrator for ever, printing each attempt.
        let master = format!("{master_host}:{master_port}");
        reach(&master, spec.timeout).map_err(|e| {
            TrainError::Run(format!(
                "rank {}: could not reach the orchestrator at {master} within {} s ({e}): is \
                 `vit orchestrator --port {master_port}` running there, and the port open?",
                spec.rank,
                spec.timeout.as_secs_f64()
            ))
        })?;
        let config = CollectiveConfig::default()
            .with_num_devices(1)
            .with_num_nodes(spec.nodes as u32)
            .with_global_address(ws_address(&master_host, master_port))
            .with_node_address(ws_address(&host, port))
            .with_data_service_port(port);
        let group = Self {
            spec: spec.clone(),
            peer: PeerId::from(spec.rank as u32),
            dog: Watchdog::new(spec.rank),
            verified: Arc::new(AtomicBool::new(false)),
            steps: Arc::new(AtomicUsize::new(0)),
        };
        let what = format!(
            "all {} nodes to join through the orchestrator at {master} (was every node started \
             with --nodes {}?)",
            spec.nodes, spec.nodes
        );
        group
            .dog
            .watch(what, spec.timeout, || {
                burn_collective::register::<IB>(group.peer, device.clone(), config)
            })
            .map_err(|e| {
                TrainError::Run(format!(
                    "rank {}: joining through the orchestrator at {master} failed: {}",
                    spec.rank,
                    describe(&e)
                ))
            })?;
        group.check_same_config::<IB>(config_hash, device)?;
        Ok(group)
    }

    /// Refuses the run unless every node has the same `config_hash` (config and start mode).
    fn check_same_config<IB: Backend>(&self, config_hash: u64, device: &IB::Device) -> Result<()> {
        // 16 bits per value: exact in f32 and in sums with zeros.
        let row: Vec<f32> = (0..4)
            .map(|i| ((config_hash >> (16 * i)) & 0xffff) as f32)
            .collect();
        let rows = self.gather_rows::<IB>(&row, device, "the start-up check of configs");
        let differing: Vec<String> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| *r != &rows[0])
            .map(|(rank, _)| rank.to_string())
            .collect();
        if differing.is_empty() {
            return Ok(());
        }
        Err(TrainError::Config(format!(
            "rank {}: the nodes were started differently: rank(s) {} run another training config \
             (or --resume on some nodes only) than rank 0; give every node the same config and \
             flags",
            self.spec.rank,
            differing.join(", ")
        )))
    }

    /// This node's rank.
    pub fn rank(&self) -> usize {
        self.spec.rank
    }

    /// Nodes in the run.
    pub fn nodes(&self) -> usize {
        self.spec.nodes
    }

    /// What the watchdog's error adds (e.g. where the last checkpoint is and how to resume).
    pub fn set_advice(&self, advice: String) {
        self.dog.set_advice(advice);
    }

    /// Ends this process with `what` failed (a collective call cannot hand an error back
    /// through burn-train's step).
    fn fatal(&self, what: &str, error: impl std::fmt::Display) -> ! {
        eprintln!(
            "error: rank {}: {what} failed: {error}.{}",
            self.spec.rank,
            self.dog.advice()
        );
        std::process::exit(crate::cluster::watchdog::WATCHDOG_EXIT)
    }

    /// All-reduces `x` (`op` over the nodes) with burn-collective's ring, watched; `what` names
    /// the call in errors. The values travel device → host → WebSocket → host → device.
    fn all_reduce<IB: Backend>(
        &self,
        x: Tensor<IB, 1>,
        op: ReduceOperation,
        what: &str,
    ) -> Tensor<IB, 1> {
        let n = x.dims()[0];
        // The ring splits the vector into one slice per node.
        let x = if n < self.spec.nodes {
            let pad = Tensor::zeros([self.spec.nodes - n], &x.device());
            Tensor::cat(vec![x, pad], 0)
        } else {
            x
        };
        let primitive = x.into_primitive().tensor();
        let what_long = format!("{what} (all {} nodes)", self.spec.nodes);
        let out = self.dog.watch(what_long, self.spec.timeout, || {
            burn_collective::all_reduce::<IB>(self.peer, primitive, op)
        });
        match out {
            Ok(p) => Tensor::<IB, 1>::from_primitive(TensorPrimitive::Float(p)).narrow(0, 0, n),
            Err(e) => self.fatal(what, describe(&e)),
        }
    }

    /// Every node's `row` (the same length on all): row `r` of the result is rank `r`'s.
    pub fn gather_rows<IB: Backend>(
        &self,
        row: &[f32],
        device: &IB::Device,
        what: &str,
    ) -> Vec<Vec<f32>> {
        let width = row.len();
        let mut rows = vec![0.0f32; width * self.spec.nodes];
        rows[self.spec.rank * width..(self.spec.rank + 1) * width].copy_from_slice(row);
        let n = rows.len();
        let all = self.all_reduce(
            Tensor::<IB, 1>::from_data(TensorData::new(rows, [n]), device),
            ReduceOperation::Sum,
            what,
        );
        let values = all
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 values");
        values.chunks(width).map(<[f32]>::to_vec).collect()
    }

    /// The epoch all nodes start at: the earliest any node can continue from (`first_epoch` is
    /// this node's; a node that died mid-epoch has one checkpoint fewer). The configs were
    /// compared when the nodes joined.
    pub fn agree_start<IB: Backend>(&self, first_epoch: usize, device: &IB::Device) -> usize {
        let rows = self.gather_rows::<IB>(&[first_epoch as f32], device, "the start epochs");
        rows.iter()
            .map(|r| r[0] as usize)
            .min()
            .unwrap_or(first_epoch)
    }

    /// `module` with rank 0's parameter values on every node (an all-reduce in which the
    /// other nodes contribute zeros).
    pub fn broadcast_params<B: VitAutodiffBackend, M: AutodiffModule<B>>(&self, module: M) -> M {
        let (values, layout) = flat::params::<B, M>(&module);
        let values = if self.spec.rank == 0 {
            values
        } else {
            values.zeros_like()
        };
        let values = self.all_reduce(values, ReduceOperation::Sum, "rank 0's initial weights");
        flat::set_params::<B, M>(module, values, &layout)
    }

    /// Compares a checksum of the weights across nodes (sum and sum of squares of all
    /// parameters); `Err` names the ranks whose weights differ from rank 0's.
    pub fn verify_same_weights<IB: Backend>(
        &self,
        values: Tensor<IB, 1>,
        when: &str,
    ) -> std::result::Result<(), String> {
        let device = values.device();
        let sum = values.clone().sum().into_scalar();
        let squares = values.powi_scalar(2).sum().into_scalar();
        use burn::tensor::ElementConversion;
        let row = [sum.elem::<f32>(), squares.elem::<f32>()];
        let rows = self.gather_rows::<IB>(&row, &device, &format!("the weights check {when}"));
        // Equal weights give equal checksums up to the order of the sums (a backend may reduce
        // on several threads); a real difference is far larger.
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-6;
        let differing: Vec<String> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.iter().zip(&rows[0]).all(|(&a, &b)| close(a, b)))
            .map(|(rank, r)| format!("rank {rank} {r:?}"))
            .collect();
        if differing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the weights differ between nodes {when}: rank 0 {:?}, {}",
                rows[0],
                differing.join(", ")
            ))
        }
    }

    /// The first call of every run (re)start: the weights must be the same on all nodes.
    pub fn verify_once<B: VitAutodiffBackend, M: AutodiffModule<B>>(&self, module: &M) {
        if self.verified.swap(true, Ordering::SeqCst) {
            return;
        }
        let (values, _) = flat::params::<B, M>(module);
        if let Err(e) = self.verify_same_weights(values, "at the first step") {
            self.fatal("the start-up weights check", e);
        }
    }

    /// Replaces `grads` by their mean over the nodes: one all-reduce of every gradient of
    /// `module`, flattened in module order.
    pub fn mean_grads<B: VitAutodiffBackend, M: AutodiffModule<B>>(
        &self,
        module: &M,
        grads: &mut GradientsParams,
    ) {
        let step = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let Some((flat, layout)) = flat::take_grads::<B, M>(module, grads) else {
            return;
        };
        let what = format!("the gradient all-reduce of step {step} of this run");
        let mean = self.all_reduce(flat, ReduceOperation::Mean, &what);
        flat::put_grads::<B, M>(module, grads, mean, &layout);
    }

    /// Whether any node says yes (early stopping, divergence): all stop together.
    pub fn any<IB: Backend>(&self, yes: bool, device: &IB::Device, what: &str) -> bool {
        let flag = Tensor::<IB, 1>::from_data(
            TensorData::new(vec![f32::from(u8::from(yes))], [1]),
            device,
        );
        let total = self.all_reduce(flag, ReduceOperation::Sum, what);
        use burn::tensor::ElementConversion;
        total.sum().into_scalar().elem::<f32>() > 0.0
    }

    /// Leaves the run after the last collective call (every all-reduce ends once each node has
    /// its data, so none still reads from this one); the orchestrator forgets this node.
    pub fn finish<IB: Backend>(&self) {
        let _ = self.dog.watch(
            "the orchestrator to let this node leave",
            self.spec.timeout,
            || burn_collective::finish_collective::<IB>(self.peer),
        );
    }
}

/// `ws://HOST:PORT`, the form burn-communication's addresses take.
fn ws_address(host: &str, port: u16) -> Address {
    Address::from_str(&format!("ws://{host}:{port}")).expect("any string is an address")
}

/// Waits until a TCP connection to `address` succeeds, at most `timeout`; `Err` says why not.
fn reach(address: &str, timeout: Duration) -> std::result::Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match address.to_socket_addrs() {
            Ok(mut addrs) => match addrs.next() {
                Some(addr) => match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                    Ok(_) => return Ok(()),
                    Err(e) => e.to_string(),
                },
                None => format!("{address} resolves to no address"),
            },
            Err(e) => format!("cannot resolve {address}: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// burn-collective's errors in words.
fn describe(error: &CollectiveError) -> String {
    match error {
        // Nodes register with their rank as their peer id, which numbers them.
        CollectiveError::Global(GlobalCollectiveError::PeerLost(node)) => format!(
            "rank {} stopped or its connection broke (it died, was killed, or cannot be reached)",
            node.index()
        ),
        CollectiveError::Global(GlobalCollectiveError::RegisterParamsMismatch)
        | CollectiveError::RegisterParamsMismatch => {
            "the nodes were started with different --nodes".to_string()
        }
        CollectiveError::Global(GlobalCollectiveError::DoubleRegister) => {
            "another node registered with the same --node-address".to_string()
        }
        other => format!("burn-collective: {other:?}"),
    }
}
