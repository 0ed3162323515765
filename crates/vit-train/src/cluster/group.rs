//! One node of a multi-node run: joining, agreeing, and the all-reduces (over [`Ring`]), each
//! under the watchdog.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use vit_core::VitAutodiffBackend;

use crate::cluster::ring::{Ring, rendezvous};
use crate::cluster::watchdog::Watchdog;
use crate::cluster::{NodeSpec, flat};
use crate::error::{Result, TrainError};

/// Sum or mean over the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReduceOperation {
    Sum,
    Mean,
}

/// This process's membership of a multi-node run (cheap to clone: shared).
#[derive(Debug, Clone)]
pub struct NodeGroup {
    spec: NodeSpec,
    ring: Arc<Mutex<Ring>>,
    dog: Watchdog,
    /// Whether the weights were compared across nodes since this run (re)started.
    verified: Arc<AtomicBool>,
    /// Training steps all-reduced so far in this process (for the error messages).
    steps: Arc<AtomicUsize>,
}

impl NodeGroup {
    /// Joins the run: binds this node's data port, meets the other nodes through the
    /// orchestrator (which refuses a node with another node count or `config_hash`), and
    /// connects the ring — each within the timeout.
    pub fn join(spec: &NodeSpec, config_hash: u64) -> Result<Self> {
        spec.validate()?;
        let (master_host, master_port) = spec.master()?;
        let (host, port) = spec.data_address()?;
        let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| {
            TrainError::Config(format!(
                "rank {}: the data port {port} cannot be opened ({e}); choose another with \
                 --node-address HOST:PORT",
                spec.rank
            ))
        })?;
        let fail = |e: String| TrainError::Run(format!("rank {}: {e}", spec.rank));
        let peers = rendezvous(
            &format!("{master_host}:{master_port}"),
            spec.nodes,
            spec.rank,
            config_hash,
            &format!("{host}:{port}"),
            spec.timeout,
        )
        .map_err(fail)?;
        let ring = Ring::connect(&listener, &peers, spec.rank, spec.timeout).map_err(fail)?;
        Ok(Self {
            spec: spec.clone(),
            ring: Arc::new(Mutex::new(ring)),
            dog: Watchdog::new(spec.rank),
            verified: Arc::new(AtomicBool::new(false)),
            steps: Arc::new(AtomicUsize::new(0)),
        })
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

    /// All-reduces `x` (`op` over the nodes), watched; `what` names the call in errors. The
    /// values travel device → host → TCP → host → device.
    fn all_reduce<IB: Backend>(
        &self,
        x: Tensor<IB, 1>,
        op: ReduceOperation,
        what: &str,
    ) -> Tensor<IB, 1> {
        let device = x.device();
        let mut values = x
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 values");
        let what_long = format!("{what} (all {} nodes)", self.spec.nodes);
        let out = self.dog.watch(what_long, self.spec.timeout, || {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            ring.all_reduce_sum(&mut values)
        });
        if let Err(e) = out {
            self.fatal(what, e);
        }
        if op == ReduceOperation::Mean {
            let n = self.spec.nodes as f32;
            values.iter_mut().for_each(|v| *v /= n);
        }
        let len = values.len();
        Tensor::from_data(TensorData::new(values, [len]), &device)
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

    /// Leaves the run after the last collective call: a final exchange, so that no node
    /// closes its connections while another still reads from them, then the sockets close.
    pub fn finish<IB: Backend>(&self, device: &IB::Device) {
        self.gather_rows::<IB>(&[1.0], device, "the end of the run");
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).close();
    }
}
