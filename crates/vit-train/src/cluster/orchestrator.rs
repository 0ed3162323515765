//! `vit orchestrator --port P`: burn-collective's global orchestrator, the rendezvous every node
//! of a multi-node run registers with (it tells each node where the others listen; the gradients
//! then travel between the nodes directly). It serves one run after another (a node that leaves,
//! finished or failed, is forgotten) until interrupted (Ctrl-C / SIGTERM).

use crate::error::{Result, TrainError};

/// Serves the orchestrator on `port` (all interfaces) until the process is interrupted; a port
/// that cannot be opened is an error naming it.
#[cfg(feature = "multinode")]
pub fn run_orchestrator(port: u16) -> Result<()> {
    // burn-collective only logs a failed bind: try the port here first to report it.
    drop(std::net::TcpListener::bind(("0.0.0.0", port)).map_err(|e| {
        TrainError::Config(format!(
            "the orchestrator's port {port} cannot be opened ({e}): is another orchestrator \
             running? choose another with --port"
        ))
    })?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| TrainError::Run(format!("the orchestrator's runtime: {e}")))?;
    eprintln!("orchestrator listening on port {port} (all interfaces); Ctrl-C ends it");
    runtime.block_on(burn_collective::start_global_orchestrator(port));
    Ok(())
}

/// Without the `multinode` feature: an error saying how to get it.
#[cfg(not(feature = "multinode"))]
pub fn run_orchestrator(_port: u16) -> Result<()> {
    Err(TrainError::Config(
        "this build has no multi-node training: build vit-train with its `multinode` feature \
         (the `vit` binary has it by default)"
            .into(),
    ))
}
