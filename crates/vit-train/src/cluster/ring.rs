//! The nodes' all-reduce: a ring over TCP (reduce-scatter, then all-gather: each node sends and
//! receives `2·(N−1)/N` of the vector per call, whatever N), and the rendezvous that tells each
//! node where the others listen (`vit orchestrator`).
//!
//! burn-collective 0.21 was the intended engine, but its global all-reduce returns once per
//! process: `SyncService::sync` clears a copy of its list of synced peers, so the second call
//! waits for ever (see the issue 14 notes). This is the same algorithm on plain sockets.
//!
//! Every socket has read and write timeouts: a node that dies closes its connections (the
//! neighbours see it at once, and name it), one that hangs is given up on after the timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What went wrong in a collective call, for the error message.
pub type RingError = String;

/// This node's two connections in the ring: to the next rank (sends) and from the previous one
/// (receives).
#[derive(Debug)]
pub struct Ring {
    rank: usize,
    nodes: usize,
    to_next: TcpStream,
    from_prev: TcpStream,
}

fn connect_with_retry(
    address: &str,
    timeout: Duration,
    what: &str,
) -> Result<TcpStream, RingError> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match address.to_socket_addrs() {
            Ok(mut addrs) => match addrs.next() {
                Some(addr) => match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                    Ok(stream) => return Ok(stream),
                    Err(e) => e.to_string(),
                },
                None => format!("{address} resolves to no address"),
            },
            Err(e) => format!("cannot resolve {address}: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "could not reach {what} at {address} within {} s ({last})",
                timeout.as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn set_timeouts(stream: &TcpStream, timeout: Duration) -> std::io::Result<()> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)
}

/// Joins through the orchestrator at `master`: sends this node's rank, the node count, the
/// config hash and where it listens; gets every node's address back once all have joined. The
/// orchestrator refuses a node whose node count or config hash differs from the first node's.
pub fn rendezvous(
    master: &str,
    nodes: usize,
    rank: usize,
    config_hash: u64,
    listen_address: &str,
    timeout: Duration,
) -> Result<Vec<String>, RingError> {
    let stream = connect_with_retry(master, timeout, "the orchestrator (`vit orchestrator`)")?;
    set_timeouts(&stream, timeout).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    writeln!(
        writer,
        "JOIN {nodes} {rank} {config_hash:016x} {listen_address}"
    )
    .map_err(|e| format!("the orchestrator at {master} closed the connection: {e}"))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| {
        format!(
            "waited {} s for all {nodes} nodes to join through the orchestrator at {master}: {e}",
            timeout.as_secs_f64()
        )
    })?;
    let line = line.trim();
    if let Some(message) = line.strip_prefix("ERROR ") {
        return Err(message.to_string());
    }
    let peers: Vec<String> = line
        .strip_prefix("PEERS ")
        .ok_or_else(|| format!("the orchestrator at {master} answered {line:?}"))?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if peers.len() != nodes {
        return Err(format!(
            "the orchestrator sent {} node addresses for {nodes} nodes",
            peers.len()
        ));
    }
    Ok(peers)
}

impl Ring {
    /// Connects to the next rank and accepts the previous one on `listener` (this node's
    /// address, bound before the rendezvous so the others can connect at once).
    pub fn connect(
        listener: &TcpListener,
        peers: &[String],
        rank: usize,
        timeout: Duration,
    ) -> Result<Self, RingError> {
        let nodes = peers.len();
        let next = (rank + 1) % nodes;
        let prev = (rank + nodes - 1) % nodes;
        let mut to_next = connect_with_retry(&peers[next], timeout, &format!("rank {next}"))?;
        set_timeouts(&to_next, timeout).map_err(|e| e.to_string())?;
        to_next
            .write_all(&(rank as u32).to_le_bytes())
            .map_err(|e| format!("rank {next} closed the connection: {e}"))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + timeout;
        let from_prev = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "rank {prev} did not connect within {} s",
                            timeout.as_secs_f64()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(format!("accepting rank {prev}: {e}")),
            }
        };
        from_prev
            .set_nonblocking(false)
            .map_err(|e| e.to_string())?;
        set_timeouts(&from_prev, timeout).map_err(|e| e.to_string())?;
        let mut who = [0u8; 4];
        (&from_prev)
            .read_exact(&mut who)
            .map_err(|e| format!("rank {prev} sent nothing: {e}"))?;
        if u32::from_le_bytes(who) as usize != prev {
            return Err(format!(
                "rank {} connected where rank {prev} was expected: are two nodes started with \
                 the same --node-rank?",
                u32::from_le_bytes(who)
            ));
        }
        Ok(Self {
            rank,
            nodes,
            to_next,
            from_prev,
        })
    }

    /// Sums `values` over all nodes, in place (every node ends with the same numbers: each
    /// chunk is summed on one node, then copied around).
    pub fn all_reduce_sum(&mut self, values: &mut [f32]) -> Result<(), RingError> {
        let n = self.nodes;
        let len = values.len();
        let bounds: Vec<usize> = (0..=n).map(|i| i * len / n).collect();
        let chunk = |i: usize| bounds[i]..bounds[i + 1];
        let (next, prev) = ((self.rank + 1) % n, (self.rank + n - 1) % n);
        for phase in 0..2 {
            for step in 0..n - 1 {
                // Reduce-scatter sends chunk rank − step and adds into rank − step − 1;
                // all-gather sends chunk rank + 1 − step and overwrites rank − step.
                let (send, recv) = if phase == 0 {
                    (
                        (self.rank + n - step) % n,
                        (self.rank + 2 * n - step - 1) % n,
                    )
                } else {
                    ((self.rank + 1 + n - step) % n, (self.rank + n - step) % n)
                };
                let outgoing: Vec<u8> = values[chunk(send)]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                let mut incoming = vec![0u8; chunk(recv).len() * 4];
                // Send and receive at once: with every node writing first, large chunks would
                // fill the sockets' buffers and stall the ring.
                let to_next = &mut self.to_next;
                let from_prev = &mut self.from_prev;
                let (sent, received) = std::thread::scope(|scope| {
                    let sender = scope.spawn(|| to_next.write_all(&outgoing));
                    let received = from_prev.read_exact(&mut incoming);
                    (sender.join().expect("the sending thread"), received)
                });
                sent.map_err(|e| lost(next, "sending to", e))?;
                received.map_err(|e| lost(prev, "receiving from", e))?;
                let target = &mut values[chunk(recv)];
                for (t, bytes) in target.iter_mut().zip(incoming.chunks_exact(4)) {
                    let v = f32::from_le_bytes(bytes.try_into().expect("4 bytes"));
                    *t = if phase == 0 { *t + v } else { v };
                }
            }
        }
        Ok(())
    }

    /// Closes both connections (the neighbours see the end of the run).
    pub fn close(&self) {
        let _ = self.to_next.shutdown(Shutdown::Both);
        let _ = self.from_prev.shutdown(Shutdown::Both);
    }
}

fn lost(rank: usize, doing: &str, e: std::io::Error) -> RingError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("{doing} rank {rank} timed out (it hangs or is too slow)")
        }
        _ => {
            format!("{doing} rank {rank} failed: rank {rank} stopped or its connection broke ({e})")
        }
    }
}

/// The orchestrator's side of [`rendezvous`]: serves groups of nodes one after the other (a
/// run, then its `--resume`) until the process ends.
pub fn serve_rendezvous(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let mut waiting: Vec<(usize, String, TcpStream)> = Vec::new();
        let mut first: Option<(usize, String)> = None;
        while first.as_ref().is_none_or(|(n, _)| waiting.len() < *n) {
            let (stream, peer) = listener.accept()?;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let refuse = |mut s: &TcpStream, why: String| {
                eprintln!("orchestrator: refused {peer}: {why}");
                let _ = writeln!(s, "ERROR {why}");
            };
            let [_, nodes, rank, hash, address] = parts[..] else {
                refuse(&stream, format!("not a node's greeting: {line:?}"));
                continue;
            };
            let (Ok(nodes), Ok(rank)) = (nodes.parse::<usize>(), rank.parse::<usize>()) else {
                refuse(&stream, format!("not a node's greeting: {line:?}"));
                continue;
            };
            let (want_nodes, want_hash) = first.get_or_insert((nodes, hash.to_string())).clone();
            if nodes != want_nodes {
                refuse(
                    &stream,
                    format!(
                        "rank {rank} was started with --nodes {nodes}, the nodes already \
                         waiting with --nodes {want_nodes}"
                    ),
                );
                continue;
            }
            if hash != want_hash {
                refuse(
                    &stream,
                    format!(
                        "rank {rank} runs another training config (or --resume where the others \
                         do not) than the nodes already waiting; give every node the same config \
                         and flags"
                    ),
                );
                continue;
            }
            if waiting.iter().any(|(r, _, _)| *r == rank) {
                refuse(&stream, format!("rank {rank} has joined already"));
                continue;
            }
            eprintln!("orchestrator: rank {rank} of {nodes} joined from {peer} ({address})");
            waiting.push((rank, address.to_string(), stream));
        }
        waiting.sort_by_key(|(rank, _, _)| *rank);
        let addresses: Vec<&str> = waiting.iter().map(|(_, a, _)| a.as_str()).collect();
        let answer = format!("PEERS {}\n", addresses.join(" "));
        let paired = waiting.len();
        for (_, _, mut stream) in waiting {
            let _ = stream.write_all(answer.as_bytes());
        }
        eprintln!("orchestrator: {paired} nodes paired; waiting for the next run");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three nodes on loopback, in threads: every node ends with the sum, for lengths that do
    /// and do not divide by 3 (and one shorter than the ring).
    #[test]
    fn three_nodes_sum_the_same_vector() {
        let master = TcpListener::bind("127.0.0.1:0").unwrap();
        let master_addr = master.local_addr().unwrap().to_string();
        std::thread::spawn(move || serve_rendezvous(master));
        let timeout = Duration::from_secs(20);
        let handles: Vec<_> = (0..3)
            .map(|rank| {
                let master_addr = master_addr.clone();
                std::thread::spawn(move || {
                    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                    let me = listener.local_addr().unwrap().to_string();
                    let peers = rendezvous(&master_addr, 3, rank, 7, &me, timeout).unwrap();
                    let mut ring = Ring::connect(&listener, &peers, rank, timeout).unwrap();
                    let mut sums = Vec::new();
                    for len in [10, 9, 2, 1000] {
                        let mut v: Vec<f32> = (0..len).map(|i| (i * (rank + 1)) as f32).collect();
                        ring.all_reduce_sum(&mut v).unwrap();
                        sums.push(v);
                    }
                    sums
                })
            })
            .collect();
        for handle in handles {
            let sums = handle.join().unwrap();
            for v in sums {
                for (i, x) in v.iter().enumerate() {
                    assert_eq!(*x, (i * 6) as f32);
                }
            }
        }
    }

    #[test]
    fn a_node_with_another_config_is_refused_by_the_orchestrator() {
        let master = TcpListener::bind("127.0.0.1:0").unwrap();
        let master_addr = master.local_addr().unwrap().to_string();
        std::thread::spawn(move || serve_rendezvous(master));
        let timeout = Duration::from_secs(5);
        let first = {
            let master_addr = master_addr.clone();
            std::thread::spawn(move || rendezvous(&master_addr, 2, 0, 1, "127.0.0.1:1", timeout))
        };
        std::thread::sleep(Duration::from_millis(200));
        let err = rendezvous(&master_addr, 2, 1, 2, "127.0.0.1:2", timeout).unwrap_err();
        assert!(err.contains("another training config"), "{err}");
        let err = rendezvous(&master_addr, 3, 1, 1, "127.0.0.1:2", timeout).unwrap_err();
        assert!(err.contains("--nodes 3"), "{err}");
        // The first node is still waiting; it gives up after its timeout, naming the wait.
        let err = first.join().unwrap().unwrap_err();
        assert!(err.contains("all 2 nodes to join"), "{err}");
    }
}
