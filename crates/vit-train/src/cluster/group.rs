//! One node of a multi-node run on burn-collective (its orchestrator and ring all-reduce over
//! WebSockets): joining, agreeing, and the all-reduces, each under the watchdog.
//!
//! burn-collective runs on a host backend (`C`, flex by default), whatever the training backend:
//! its ring sends every slice from host memory anyway, and one copy device → host → device per
//! all-reduce is all it costs (ndarray's strided copies of the ring's slices were 2× slower).

use std::marker::PhantomData;
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

/// The largest all-reduce message, in f32 values (128 MB): longer vectors go in several
/// all-reduces (burn-communication's WebSocket frames stop at 512 MB).
const DEFAULT_MAX_MESSAGE: usize = 32 << 20;

/// How long leaving the run waits for the orchestrator.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// This process's membership of a multi-node run (cheap to clone: shared); `C` is the host
/// backend burn-collective computes on (one per process: burn-collective keeps one client per
/// backend type).
#[derive(Debug)]
pub struct NodeGroup<C: Backend = burn_flex::Flex> {
    spec: NodeSpec,
    /// Values per all-reduce message, at most.
    max_message: usize,
    /// This node's one local peer in burn-collective.
    peer: PeerId,
    dog: Watchdog,
    /// Whether the weights were compared across nodes since this run (re)started.
    verified: Arc<AtomicBool>,
    /// Training steps all-reduced so far in this process (for the error messages).
    steps: Arc<AtomicUsize>,
    host: PhantomData<C>,
}

impl<C: Backend> Clone for NodeGroup<C> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            max_message: self.max_message,
            peer: self.peer,
            dog: self.dog.clone(),
            verified: self.verified.clone(),
            steps: self.steps.clone(),
            host: PhantomData,
        }
    }
}

impl<C: Backend> NodeGroup<C> {
    /// Joins the run: checks that this node's data port is free and the orchestrator reachable,
    /// registers with it (burn-collective) and waits until all nodes have, then compares the
    /// nodes' `config_hash`es (a node started with another config or mode is refused by name) —
    /// each within the timeout.
    pub fn join(spec: &NodeSpec, config_hash: u64) -> Result<Self> {
        spec.validate()?;
        let (master_host, master_port) = spec.master()?;
        let (host, port) = spec.data_address()?;
        // burn-collective binds the data service in a background task and only logs a failure
        // (the other nodes would then wait for ever): try the port here first to report it.
        TcpListener::bind((host.trim_start_matches('[').trim_end_matches(']'), port)).map_err(
            |e| {
                TrainError::Config(format!(
                    "rank {}: the data port {port} cannot be opened ({e}); choose another with \
                 --node-address HOST:PORT",
                    spec.rank
                ))
            },
        )?;
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
            max_message: DEFAULT_MAX_MESSAGE,
            peer: PeerId::from(spec.rank as u32),
            dog: Watchdog::new(spec.rank),
            verified: Arc::new(AtomicBool::new(false)),
            steps: Arc::new(AtomicUsize::new(0)),
            host: PhantomData,
        };
        let what = format!(
            "all {} nodes to join through the orchestrator at {master} (was every node started \
             with --nodes {}?)",
            spec.nodes, spec.nodes
        );
        group
            .dog
            .watch(what, spec.timeout, || {
                burn_collective::register::<C>(group.peer, C::Device::default(), config)
            })
            .map_err(|e| {
                TrainError::Run(format!(
                    "rank {}: joining through the orchestrator at {master} failed: {}",
                    spec.rank,
                    describe(&e)
                ))
            })?;
        group.check_same_config(config_hash)?;
        Ok(group)
    }

    /// Sends vectors longer than `values` f32 in several all-reduces (default
    /// 32 M values, 128 MB); at least one value per node.
    pub fn with_max_message(mut self, values: usize) -> Self {
        self.max_message = values.max(self.spec.nodes);
        self
    }

    /// Refuses the run unless every node has the same `config_hash` (config and start mode).
    fn check_same_config(&self, config_hash: u64) -> Result<()> {
        // A presence count first (two nodes given one rank sum to 2 there, and the rank no
        // node took stays 0), then the hash, 16 bits per value: exact in f32 and in sums.
        let row: Vec<f32> = std::iter::once(1.0)
            .chain((0..4).map(|i| ((config_hash >> (16 * i)) & 0xffff) as f32))
            .collect();
        let rows = self.gather_rows(&row, "the start-up check of configs");
        rank_counts_problem(&rows.iter().map(|r| r[0]).collect::<Vec<_>>())
            .map_or(Ok(()), |p| {
                Err(TrainError::Config(format!("rank {}: {p}", self.spec.rank)))
            })?;
        let differing: Vec<String> = ranks_unlike_rank0(&rows, |a, b| a == b)
            .map(|rank| rank.to_string())
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

    /// Each of `values` summed over the nodes (every node passes as many): burn-collective's
    /// ring all-reduce in messages of at most `max_message` values, each watched; `what` names
    /// the call in errors.
    pub fn sum(&self, mut values: Vec<f32>, what: &str) -> Vec<f32> {
        let device = C::Device::default();
        let what_long = format!("{what} (all {} nodes)", self.spec.nodes);
        for chunk in values.chunks_mut(self.max_message) {
            let n = chunk.len();
            // The ring cuts each message into one slice per node, of ⌈len / nodes⌉ values
            // each: a multiple of the node count keeps every slice inside the message.
            let mut data = chunk.to_vec();
            data.resize(n.div_ceil(self.spec.nodes) * self.spec.nodes, 0.0);
            let len = data.len();
            let x = Tensor::<C, 1>::from_data(TensorData::new(data, [len]), &device);
            let primitive = x.into_primitive().tensor();
            let out = self.dog.watch(what_long.as_str(), self.spec.timeout, || {
                burn_collective::all_reduce::<C>(self.peer, primitive, ReduceOperation::Sum)
            });
            let reduced = match out {
                Ok(p) => Tensor::<C, 1>::from_primitive(TensorPrimitive::Float(p)),
                Err(e) => self.fatal(what, describe(&e)),
            };
            chunk.copy_from_slice(&to_host(reduced)[..n]);
        }
        values
    }

    /// [`Self::sum`] of a tensor on any backend and device: device → host → WebSocket →
    /// host → device.
    fn all_reduce<IB: Backend>(&self, x: Tensor<IB, 1>, what: &str) -> Tensor<IB, 1> {
        let device = x.device();
        let values = self.sum(to_host(x), what);
        let len = values.len();
        Tensor::from_data(TensorData::new(values, [len]), &device)
    }

    /// Every node's `row` (the same length on all): row `r` of the result is rank `r`'s.
    pub fn gather_rows(&self, row: &[f32], what: &str) -> Vec<Vec<f32>> {
        let width = row.len();
        if width == 0 {
            return vec![Vec::new(); self.spec.nodes];
        }
        let mut rows = vec![0.0f32; width * self.spec.nodes];
        rows[self.spec.rank * width..(self.spec.rank + 1) * width].copy_from_slice(row);
        let values = self.sum(rows, what);
        values.chunks(width).map(<[f32]>::to_vec).collect()
    }

    /// The epoch all nodes start at: the earliest any node can continue from (`first_epoch` is
    /// this node's; a node that died mid-epoch has one checkpoint fewer). The configs were
    /// compared when the nodes joined.
    pub fn agree_start(&self, first_epoch: usize) -> usize {
        let rows = self.gather_rows(&[first_epoch as f32], "the start epochs");
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
        let values = self.all_reduce(values, "rank 0's initial weights");
        flat::set_params::<B, M>(module, values, &layout)
    }

    /// Compares a checksum of the weights across nodes (sum and sum of squares of all
    /// parameters); `Err` names the ranks whose weights differ from rank 0's.
    pub fn verify_same_weights<IB: Backend>(
        &self,
        values: Tensor<IB, 1>,
        when: &str,
    ) -> std::result::Result<(), String> {
        let sum = values.clone().sum().into_scalar();
        let squares = values.powi_scalar(2).sum().into_scalar();
        use burn::tensor::ElementConversion;
        let row = [sum.elem::<f32>(), squares.elem::<f32>()];
        let rows = self.gather_rows(&row, &format!("the weights check {when}"));
        // Equal weights give equal checksums up to the order of the sums (a backend may reduce
        // on several threads); a real difference is far larger.
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-6;
        let differing: Vec<String> = ranks_unlike_rank0(&rows, close)
            .map(|rank| format!("rank {rank} {:?}", rows[rank]))
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
        // The sum divided by our own node count (not burn-collective's count of peers).
        let mean = self
            .all_reduce(flat, &what)
            .div_scalar(self.spec.nodes as f32);
        flat::put_grads::<B, M>(module, grads, mean, &layout);
    }

    /// Whether any node says yes (early stopping, divergence): all stop together.
    pub fn any(&self, yes: bool, what: &str) -> bool {
        let total = self.sum(vec![f32::from(u8::from(yes))], what);
        total[0] > 0.0
    }

    /// Leaves the run after the last collective call (every all-reduce ends once each node has
    /// its data, so none still reads from this one): tells the orchestrator, waiting at most
    /// 10 s — the run is over, so an orchestrator that is gone is no error (it forgets
    /// a node whose connection closes anyway).
    pub fn finish(&self) {
        let (peer, rank) = (self.peer, self.spec.rank);
        let (done, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(burn_collective::finish_collective::<C>(peer));
        });
        match wait.recv_timeout(FINISH_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "warning: rank {rank}: leaving the orchestrator failed ({}); the run is complete",
                describe(&e)
            ),
            Err(_) => eprintln!(
                "warning: rank {rank}: the orchestrator did not answer within {} s when this node \
                 left; the run is complete",
                FINISH_WAIT.as_secs()
            ),
        }
    }
}

/// A vector's values in host memory, as f32.
fn to_host<B: Backend>(x: Tensor<B, 1>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 values")
}

/// What is wrong with how many nodes took each rank (`counts[r]`: the nodes that joined as
/// rank `r`), or `None` when each took exactly one.
fn rank_counts_problem(counts: &[f32]) -> Option<String> {
    let mut problems = Vec::new();
    for (rank, &count) in counts.iter().enumerate() {
        let count = count.round() as i64;
        if count > 1 {
            problems.push(format!("rank {rank} was given to {count} nodes"));
        } else if count < 1 {
            problems.push(format!("no node has rank {rank}"));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{}: start each node with its own --rank, 0 to {}",
            problems.join("; "),
            counts.len() - 1
        )
    })
}

/// The ranks whose row is not `same` as rank 0's, value by value.
fn ranks_unlike_rank0<'a>(
    rows: &'a [Vec<f32>],
    same: impl Fn(f32, f32) -> bool + 'a,
) -> impl Iterator<Item = usize> + 'a {
    rows.iter()
        .enumerate()
        .filter(move |(_, r)| !r.iter().zip(&rows[0]).all(|(&a, &b)| same(a, b)))
        .map(|(rank, _)| rank)
}

/// `ws://HOST:PORT`, the form burn-communication's addresses take.
fn ws_address(host: &str, port: u16) -> Address {
    Address::from_str(&format!("ws://{host}:{port}")).expect("any string is an address")
}

/// Waits until a TCP connection to `address` succeeds, at most `timeout`; `Err` says why not.
fn reach(address: &str, timeout: Duration) -> std::result::Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        // Every address the name resolves to (`localhost` may give ::1 before 127.0.0.1).
        let last = match address.to_socket_addrs() {
            Ok(addrs) => {
                let mut last = format!("{address} resolves to no address");
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                        Ok(_) => return Ok(()),
                        Err(e) => last = format!("{addr}: {e}"),
                    }
                }
                last
            }
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

#[cfg(test)]
mod tests {
    use super::rank_counts_problem;

    #[test]
    fn a_rank_taken_twice_or_by_no_node_is_named() {
        assert_eq!(rank_counts_problem(&[1.0, 1.0, 1.0]), None);
        let twice = rank_counts_problem(&[2.0, 0.0]).unwrap();
        assert!(
            twice.contains("rank 0 was given to 2 nodes") && twice.contains("no node has rank 1"),
            "{twice}"
        );
    }
}
