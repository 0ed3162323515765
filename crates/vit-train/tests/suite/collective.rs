//! burn-collective (0.21 with the fixes in `vendor/README.md`) as multi-node training uses it:
//! two nodes in one process — each on its own backend type, since burn-collective keeps one
//! client per backend — through a real orchestrator on 127.0.0.1. As published, 0.21's second
//! global all-reduce never returned; here hundreds must, each with the exact result.

#![cfg(feature = "multinode")]

use std::time::Duration;

use burn::tensor::backend::Backend;
use vit_testing::MixedB;
use vit_train::cluster::{NodeGroup, NodeSpec, orchestrator};

type Cpu = burn_ndarray::NdArray<f32>;

/// Three free ports in a row below Linux's ephemeral range (32768–60999).
fn free_ports() -> u16 {
    let seed = (std::process::id() % 4000) as u16;
    (0..400u16)
        .map(|i| 21_000 + (seed + i * 29) % 11_000)
        .find(|&base| {
            (base..base + 3).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .expect("3 free ports")
}

fn spec(rank: usize, master: &str) -> NodeSpec {
    NodeSpec {
        nodes: 2,
        rank,
        master: master.to_string(),
        node_address: None,
        timeout: Duration::from_secs(60),
    }
}

/// Node `rank`'s side: many gathers of every width from 1 to 40 and a large one, each checked.
fn node<IB: Backend>(rank: usize, master: String) -> usize {
    let device = IB::Device::default();
    let group = NodeGroup::join::<IB>(&spec(rank, &master), 42, &device).expect("joins");
    let mut calls = 0;
    for round in 0..6 {
        for width in (1..=40).chain([100_000]) {
            // Distinct integers per rank, round and position: exact in f32 and in their sums.
            let row: Vec<f32> = (0..width)
                .map(|i| ((rank * 7 + round * 3 + i) % 1000) as f32)
                .collect();
            let rows = group.gather_rows::<IB>(&row, &device, "the test's gather");
            calls += 1;
            assert_eq!(rows.len(), 2);
            for (r, got) in rows.iter().enumerate() {
                let want: Vec<f32> = (0..width)
                    .map(|i| ((r * 7 + round * 3 + i) % 1000) as f32)
                    .collect();
                assert_eq!(got, &want, "round {round}, width {width}, rank {r}'s row");
            }
        }
        // Early stopping's vote: yes if any node says yes.
        assert!(group.any::<IB>(rank == round % 2, &device, "the test's vote"));
        assert!(!group.any::<IB>(false, &device, "the test's vote"));
        calls += 2;
    }
    assert_eq!(group.agree_start::<IB>(3 + rank, &device), 3);
    group.finish::<IB>();
    calls + 1
}

#[test]
fn burn_collective_all_reduces_return_every_time_with_exact_sums() {
    let port = free_ports();
    std::thread::spawn(move || orchestrator::run_orchestrator(port));
    let master = format!("127.0.0.1:{port}");
    let m = master.clone();
    let rank1 = std::thread::spawn(move || node::<MixedB>(1, m));
    let calls = node::<Cpu>(0, master);
    assert_eq!(rank1.join().expect("rank 1 finishes"), calls);
    assert!(calls > 250, "{calls}");
}
