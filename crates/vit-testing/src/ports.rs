//! Free TCP ports for tests whose servers must listen on ports chosen in advance (multi-node
//! runs: an orchestrator, then one data port per node).

use std::sync::atomic::{AtomicU16, Ordering};

/// The first of `n` ports in a row that are free on 127.0.0.1, another block for each call in
/// this process (tests run side by side). They lie below Linux's ephemeral range
/// (32768–60999), where the processes' own outgoing connections take their local ports.
pub fn free_ports(n: u16) -> u16 {
    static CALLS: AtomicU16 = AtomicU16::new(0);
    let call = CALLS.fetch_add(1, Ordering::SeqCst);
    let seed = (std::process::id() as u16)
        .wrapping_mul(31)
        .wrapping_add(call.wrapping_mul(1009));
    (0..400u16)
        .map(|attempt| 20_000 + seed.wrapping_add(attempt * 97) % 12_000)
        .find(|&base| {
            (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .unwrap_or_else(|| panic!("no {n} free ports in a row"))
}
