//! A benchmark, not a test: the worker's idle memory per connection, as its RSS grows over
//! 10k WebSocket connections that never join. Run with `cargo bench -p roomshard-worker
//! --bench idle_memory` (after building the worker with `--release`).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{spawn_node, start_worker};
use roomshard_testkit::metrics::value;
use roomshard_testkit::process::wait_until;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    const N: u64 = 10_000;
    // Every connection comes from one address and none joins.
    let envs = [
        ("MAX_CONNECTIONS_PER_IP", "0".to_owned()),
        ("JOIN_TIMEOUT_MS", "3600000".to_owned()),
    ];
    let worker = start_worker("idle", &envs)?;
    let before = worker.rss_kib()?;
    let node = spawn_node("idle.mjs", &[worker.url(), N.to_string()])?;
    wait_until("10k connections", Duration::from_secs(300), || {
        value(worker.port, "roomshard_worker_connections")
            .ok()
            .filter(|c| *c >= N as f64)
    })?;
    // Let the handshakes settle: wait until RSS stops growing (bounded).
    let mut last = worker.rss_kib()?;
    let settled = wait_until("RSS to settle", Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(500));
        let now = worker.rss_kib().ok()?;
        let done = now <= last + 256;
        last = now;
        done.then_some(now)
    })
    .unwrap_or(last);
    let per_conn = (settled.saturating_sub(before) * 1024) / N;
    println!(
        "idle memory: RSS {before} KiB -> {settled} KiB with {N} connections: {per_conn} bytes per connection"
    );
    drop(node);
    Ok(())
}
