//! `vit orchestrator --port P`: the rendezvous of a multi-node training run.

use clap::Args;

/// `vit orchestrator` arguments.
#[derive(Args, Debug)]
pub struct Orchestrator {
    /// The port the nodes reach it at (`vit train --master HOST:PORT`); it must be open to them.
    #[arg(long, default_value_t = 7000)]
    pub port: u16,
}

impl Orchestrator {
    /// Serves until interrupted (Ctrl-C, SIGTERM).
    pub fn run(self) -> Result<(), Box<dyn std::error::Error>> {
        vit_train::cluster::orchestrator::run_orchestrator(self.port)?;
        Ok(())
    }
}
