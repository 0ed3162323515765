//! burn-collective (0.21 with the fixes in `vendor/README.md`) as multi-node training uses it:
//! two nodes in one process — each on its own host backend type, since burn-collective keeps
//! one client per backend — through a real orchestrator on 127.0.0.1. As published, 0.21's
//! second global all-reduce never returned; here hundreds must, each with the exact result.

#![cfg(feature = "multinode")]

use std::time::{Duration, Instant};

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use vit_testing::MixedB;
use vit_testing::ports::free_ports;
use vit_train::cluster::{NodeGroup, NodeSpec, orchestrator};

fn spec(nodes: usize, rank: usize, master: &str) -> NodeSpec {
    NodeSpec {
        nodes,
        rank,
        master: master.to_string(),
        node_address: None,
        timeout: Duration::from_secs(60),
    }
}

/// Rank `r`'s row of `width` values in `round`: distinct integers, exact in f32 and in sums.
fn row(r: usize, round: usize, width: usize) -> Vec<f32> {
    (0..width)
        .map(|i| ((r * 7 + round * 3 + i) % 1000) as f32)
        .collect()
}

/// Node `rank`'s side of one run on host backend `C`: gathers of every width from 1 to 40 and
/// large ones (in messages of at most 30 000 values), votes, the start epoch. Returns the calls
/// made and the mean time of a 2 × 100 000-value gather.
fn node<C: Backend>(rank: usize, master: &str) -> (usize, Duration) {
    let group = NodeGroup::<C>::join(&spec(2, rank, master), 42)
        .expect("joins")
        .with_max_message(30_000);
    let (mut calls, mut large) = (0, Duration::ZERO);
    for round in 0..6 {
        if rank == 0 && round == 1 {
            // Anyone can connect to these ports: crafted messages to rank 1's data and sync
            // services and to the orchestrator are dropped with a log line, and the run goes on.
            let master_port: u16 = master.rsplit_once(':').unwrap().1.parse().unwrap();
            for (port, route) in [
                (master_port + 2, "data"),
                (master_port + 2, "sync"),
                (master_port, "response"),
                (master_port, "request"),
            ] {
                send_garbage(port, route);
            }
        }
        for width in (1..=40).chain([100_000]) {
            let started = Instant::now();
            let rows = group.gather_rows(&row(rank, round, width), "the test's gather");
            if width == 100_000 {
                large += started.elapsed();
            }
            calls += 1;
            assert_eq!(rows.len(), 2);
            for (r, got) in rows.iter().enumerate() {
                assert_eq!(
                    got,
                    &row(r, round, width),
                    "round {round}, width {width}, rank {r}"
                );
            }
        }
        // Early stopping's vote: yes if any node says yes.
        assert!(group.any(rank == round % 2, "the test's vote"));
        assert!(!group.any(false, "the test's vote"));
        calls += 2;
    }
    assert_eq!(group.agree_start(3 + rank), 3);
    // The data service (it just served every gather) listens on the node's address, 127.0.0.1,
    // not on every interface: the same port is free on another loopback address.
    let master_port: u16 = master.rsplit_once(':').unwrap().1.parse().unwrap();
    let data_port = master_port + 1 + rank as u16;
    assert!(
        std::net::TcpListener::bind(("127.0.0.2", data_port)).is_ok(),
        "rank {rank}'s data port {data_port} is bound on every interface"
    );
    group.finish();
    (calls + 1, large / 6)
}

/// Panics raised inside burn-collective or burn-communication (their tasks' panics do not
/// reach the caller: counted here by a hook).
static LIBRARY_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_library_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info
                .location()
                .map(|l| l.file().to_string())
                .unwrap_or_default();
            if file.contains("burn-collective") || file.contains("burn-communication") {
                LIBRARY_PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            default(info)
        }));
    });
}

/// Connects to `ws://127.0.0.1:PORT/ROUTE`, sends bytes that are no message, waits briefly.
fn send_garbage(port: u16, route: &str) {
    use burn_communication::websocket::WsClient;
    use burn_communication::{Address, CommunicationChannel, Message, ProtocolClient};
    use std::str::FromStr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let address = Address::from_str(&format!("ws://127.0.0.1:{port}")).unwrap();
        if let Some(mut channel) = WsClient::connect(address, route).await {
            let _ = channel
                .send(Message::new(b"\xc1 not msgpack".to_vec().into()))
                .await;
            let _ = tokio::time::timeout(Duration::from_millis(500), channel.recv()).await;
        }
    });
}

#[test]
fn burn_collective_all_reduces_return_every_time_with_exact_sums_on_two_and_four_nodes() {
    count_library_panics();
    let port = free_ports(3);
    std::thread::spawn(move || orchestrator::run_orchestrator(port));
    let master = format!("127.0.0.1:{port}");
    // Twice in the same processes and ports: leaving frees the data ports and the orchestrator
    // forgets the nodes.
    for run in 0..2 {
        let m = master.clone();
        let rank1 = std::thread::spawn(move || node::<Autodiff<MixedB>>(1, &m));
        let (calls, large) = node::<MixedB>(0, &master);
        let (calls1, _) = rank1.join().expect("rank 1 finishes");
        assert_eq!(calls, calls1);
        assert!(calls > 250, "{calls}");
        eprintln!(
            "run {run}: {calls} all-reduces; 2 × 100 000 f32 (0.8 MB) in {:.1} ms",
            large.as_secs_f64() * 1e3
        );
    }
    four_nodes_sum_vectors_of_any_length();
    assert_eq!(
        LIBRARY_PANICS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a crafted message panicked a task inside burn-collective"
    );
}

/// Node `rank` of 4: sums of every length from 1 to 40 (the ring cuts a message into 4 slices:
/// lengths that are not a multiple of 4 need padding) and a gather.
fn node_of_four<C: Backend>(rank: usize, master: &str) {
    let group = NodeGroup::<C>::join(&spec(4, rank, master), 7).expect("joins");
    for len in 1..=40 {
        let values: Vec<f32> = (0..len).map(|i| (rank * 100 + i) as f32).collect();
        let sums = group.sum(values, "the test's sum");
        let want: Vec<f32> = (0..len).map(|i| (600 + 4 * i) as f32).collect();
        assert_eq!(sums, want, "length {len}");
    }
    let rows = group.gather_rows(&[rank as f32; 3], "the test's gather");
    assert_eq!(rows, (0..4).map(|r| vec![r as f32; 3]).collect::<Vec<_>>());
    group.finish();
}

/// Four nodes (in the same test as the two-node runs: one burn-collective client per backend
/// type and process, so these tests cannot run side by side).
fn four_nodes_sum_vectors_of_any_length() {
    type NdArray = burn_ndarray::NdArray<f32>;
    let port = free_ports(5);
    std::thread::spawn(move || orchestrator::run_orchestrator(port));
    let master = format!("127.0.0.1:{port}");
    let others = [
        std::thread::spawn({
            let m = master.clone();
            move || node_of_four::<Autodiff<MixedB>>(1, &m)
        }),
        std::thread::spawn({
            let m = master.clone();
            move || node_of_four::<NdArray>(2, &m)
        }),
        std::thread::spawn({
            let m = master.clone();
            move || node_of_four::<Autodiff<NdArray>>(3, &m)
        }),
    ];
    node_of_four::<MixedB>(0, &master);
    for node in others {
        node.join().expect("the node finishes");
    }
}
