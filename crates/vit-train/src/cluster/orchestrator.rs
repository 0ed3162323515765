//! `vit orchestrator --port P`: the rendezvous every node of a multi-node run joins (it checks
//! that they run the same config, then tells each where the others listen; the gradients then
//! travel between the nodes directly). It serves one run after another until interrupted.

use crate::cluster::ring::serve_rendezvous;
use crate::error::{Result, TrainError};

/// Serves the orchestrator on `port` (all interfaces) until the process is interrupted; a port
/// that cannot be opened is an error naming it.
pub fn run_orchestrator(port: u16) -> Result<()> {
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).map_err(|e| {
        TrainError::Config(format!(
            "the orchestrator's port {port} cannot be opened ({e}): is another orchestrator \
             running? choose another with --port"
        ))
    })?;
    eprintln!("orchestrator listening on port {port} (all interfaces); Ctrl-C ends it");
    serve_rendezvous(listener)
        .map_err(|e| TrainError::Run(format!("the orchestrator on port {port}: {e}")))
}
