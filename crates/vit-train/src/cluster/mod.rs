//! Data-parallel training across processes and machines: one process per node, each on its own
//! shard of every epoch, the gradients averaged by one all-reduce inside every training step, so
//! every node holds the same weights after every step. The nodes meet through `vit
//! orchestrator` and all-reduce with burn-collective (its global orchestrator and WebSocket ring;
//! 0.21 with the fixes in `vendor/README.md`), behind the `multinode` feature.
//!
//! - [`NodeSpec`]: where this node stands (`--nodes`, `--node-rank`, `--master`,
//!   `--node-address`, `--collective-timeout`), validated before anything runs.
//! - [`NodeGroup`]: joining (the same config on every node, compared by hash; the same start
//!   epoch; rank 0's initial weights on all, verified), the per-step gradient all-reduce,
//!   agreeing on early stopping; every call under a [`watchdog::Watchdog`], so a node that dies
//!   or never joins stops the others with an error instead of a hang (burn-collective has no
//!   timeouts of its own).
//! - [`orchestrator`]: `vit orchestrator --port P`.

pub mod flat;
pub mod orchestrator;
pub mod watchdog;

#[cfg(feature = "multinode")]
mod group;
#[cfg(not(feature = "multinode"))]
#[path = "group_unavailable.rs"]
mod group;

pub use group::NodeGroup;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Result, TrainError};

/// The default deadline of one collective call (joining, an all-reduce).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// This node's place in a multi-node run.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// Nodes (processes) in the run, at least 2.
    pub nodes: usize,
    /// This node's rank, `0..nodes`; rank 0 writes the run folder.
    pub rank: usize,
    /// `HOST:PORT` of the orchestrator (`vit orchestrator --port PORT`).
    pub master: String,
    /// `HOST:PORT` this node's data service listens on and the other nodes reach it at;
    /// default: the master's host when it is a loopback address, port = master port + 1 + rank.
    pub node_address: Option<String>,
    /// Deadline of one collective call.
    pub timeout: Duration,
}

fn split_host_port(what: &str, text: &str) -> Result<(String, u16)> {
    let text = text
        .strip_prefix("ws://")
        .unwrap_or(text)
        .trim_end_matches('/');
    let bad = || {
        TrainError::Config(format!(
            "{what} `{text}`: expected HOST:PORT (e.g. 10.0.0.1:7000)"
        ))
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "::1" || host == "[::1]"
}

impl NodeSpec {
    /// Checks ranks and addresses; the errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if self.nodes < 2 {
            return Err(TrainError::Config(format!(
                "--nodes {}: a multi-node run needs at least 2 nodes",
                self.nodes
            )));
        }
        if self.rank >= self.nodes {
            return Err(TrainError::Config(format!(
                "--node-rank {} with --nodes {}: ranks are 0 to {}",
                self.rank,
                self.nodes,
                self.nodes - 1
            )));
        }
        if self.timeout.is_zero() {
            return Err(TrainError::Config(
                "--collective-timeout must be more than 0 seconds".into(),
            ));
        }
        self.master()?;
        self.data_address()?;
        Ok(())
    }

    /// The orchestrator's host and port.
    pub fn master(&self) -> Result<(String, u16)> {
        split_host_port("--master", &self.master)
    }

    /// Where this node's data service listens and is reached: `--node-address`, else the
    /// master's host if it is loopback (one machine) with port master + 1 + rank.
    pub fn data_address(&self) -> Result<(String, u16)> {
        if let Some(address) = &self.node_address {
            return split_host_port("--node-address", address);
        }
        let (host, port) = self.master()?;
        if !is_loopback(&host) {
            return Err(TrainError::Config(format!(
                "--node-address is needed when the master ({host}) is another machine: the \
                 HOST:PORT the other nodes reach this node at (PORT must be open)"
            )));
        }
        let port = usize::from(port) + 1 + self.rank;
        let port = u16::try_from(port).map_err(|_| {
            TrainError::Config(format!(
                "--master port {port}: too high to give each node the next port; set \
                 --node-address"
            ))
        })?;
        Ok((host, port))
    }

    /// The folder this node writes: the run folder itself for rank 0; for the other ranks a
    /// folder of their own inside it (`rank-R`: their checkpoints and config, what `--resume`
    /// needs), so that nodes sharing a file system never write the same file.
    pub fn node_dir(&self, out: &Path) -> PathBuf {
        if self.rank == 0 {
            out.to_path_buf()
        } else {
            out.join(format!("rank-{}", self.rank))
        }
    }
}

/// A stable 64-bit hash (FNV-1a) of `bytes`: the same on every machine and build.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rank: usize, master: &str, node: Option<&str>) -> NodeSpec {
        NodeSpec {
            nodes: 2,
            rank,
            master: master.into(),
            node_address: node.map(Into::into),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn loopback_masters_give_each_rank_the_next_port() {
        assert_eq!(
            spec(1, "127.0.0.1:7000", None).data_address().unwrap(),
            ("127.0.0.1".into(), 7002)
        );
        assert_eq!(
            spec(0, "ws://localhost:7000", None).data_address().unwrap(),
            ("localhost".into(), 7001)
        );
        assert_eq!(
            spec(1, "10.0.0.1:7000", Some("10.0.0.2:7100"))
                .data_address()
                .unwrap(),
            ("10.0.0.2".into(), 7100)
        );
    }

    #[test]
    fn bad_specs_name_the_flag() {
        let err = spec(1, "10.0.0.1:7000", None).validate().unwrap_err();
        assert!(err.to_string().contains("--node-address"), "{err}");
        let err = spec(2, "127.0.0.1:7000", None).validate().unwrap_err();
        assert!(err.to_string().contains("--node-rank 2"), "{err}");
        let err = spec(0, "127.0.0.1", None).validate().unwrap_err();
        assert!(err.to_string().contains("--master `127.0.0.1`"), "{err}");
        let mut one = spec(0, "127.0.0.1:7000", None);
        one.nodes = 1;
        assert!(
            one.validate()
                .unwrap_err()
                .to_string()
                .contains("--nodes 1")
        );
    }

    #[test]
    fn rank_zero_writes_the_run_folder_the_others_their_own() {
        let out = Path::new("runs/x");
        assert_eq!(spec(0, "127.0.0.1:7000", None).node_dir(out), out);
        assert_eq!(
            spec(1, "127.0.0.1:7000", None).node_dir(out),
            out.join("rank-1")
        );
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
        assert_eq!(stable_hash(b"abc"), 0xe71f_a219_0541_574b);
    }
}
