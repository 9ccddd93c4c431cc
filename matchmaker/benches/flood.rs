//! A benchmark, not a test: `/reserve` latency of well-behaved clients with and without
//! one abusive client flooding the same matchmaker from one address. The abusive client is
//! refused 429 by the per-IP limit; what it costs the others is the ratio of their p50 and
//! p99 with the flood to without. `bench/reserve-flood.sh` runs it; docs/LOADTEST.md has
//! the numbers.
//!
//! Run with `cargo bench -p roomshard-matchmaker --bench flood` (after building the
//! matchmaker with `--release`). Settings (environment):
//! - `FLOOD_BENCH_SECS`: seconds per phase (default 5).
//! - `FLOOD_BENCH_CLIENTS`: well-behaved clients, each from its own address (default 8).
//! - `FLOOD_BENCH_RATE`: reservations per second of each well-behaved client (default 5).
//! - `FLOOD_BENCH_FLOODERS`: concurrent connections of the abusive client (default 32).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Matchmaker, beat_all};
use roomshard_protocol::records::Capacity;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Phase {
    p50_ms: f64,
    p99_ms: f64,
    granted: usize,
    refused: usize,
    flood_sent: u64,
    flood_limited: u64,
}

async fn phase(
    mm: &Arc<Matchmaker>,
    secs: f64,
    clients: usize,
    rate: f64,
    flooders: usize,
) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let mut flood = Vec::new();
    for _ in 0..flooders {
        let (mm, stop, sent, limited) = (mm.clone(), stop.clone(), sent.clone(), limited.clone());
        flood.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let body = json!({"player": format!("abuser-{i}")});
                if let Ok(a) = mm
                    .reserve_with(&[("X-Forwarded-For", "203.0.113.66")], &body)
                    .await
                {
                    sent.fetch_add(1, Ordering::Relaxed);
                    if a.status == 429 {
                        limited.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut calm = Vec::new();
    for c in 0..clients {
        let mm = mm.clone();
        calm.push(tokio::spawn(async move {
            let ip = format!("198.51.100.{}", c + 1);
            let period = Duration::from_secs_f64(1.0 / rate);
            let started = Instant::now();
            let mut latencies = Vec::new();
            let mut refused = 0;
            let mut n = 0u32;
            while started.elapsed().as_secs_f64() < secs {
                n += 1;
                let body = json!({"player": format!("calm-{c}-{n}")});
                let t = Instant::now();
                match mm.reserve_with(&[("X-Forwarded-For", &ip)], &body).await {
                    Ok(a) if a.status == 200 => {
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => refused += 1,
                }
                let next = period.saturating_mul(n);
                if let Some(wait) = next.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            (latencies, refused)
        }));
    }
    let mut all = Vec::new();
    let mut refused = 0;
    for c in calm {
        let (l, r) = c.await.expect("a client");
        all.extend(l);
        refused += r;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        let _ = f.await;
    }
    all.sort_by(f64::total_cmp);
    Phase {
        p50_ms: quantile(&all, 0.5),
        p99_ms: quantile(&all, 0.99),
        granted: all.len(),
        refused,
        flood_sent: sent.load(Ordering::Relaxed),
        flood_limited: limited.load(Ordering::Relaxed),
    }
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?
        .block_on(measure_reserve_latency_under_a_flood())
}

async fn measure_reserve_latency_under_a_flood() -> anyhow::Result<()> {
    let secs: f64 = env_or("FLOOD_BENCH_SECS", 5.0);
    let clients: usize = env_or("FLOOD_BENCH_CLIENTS", 8);
    let rate: f64 = env_or("FLOOD_BENCH_RATE", 5.0);
    let flooders: usize = env_or("FLOOD_BENCH_FLOODERS", 32);
    let server = RedisServer::start()?;
    beat_all(
        server.port(),
        4,
        Capacity {
            rooms_per_shard: 100_000,
            players_per_room: 1_000,
        },
    )?;
    // The defaults of the per-IP limit, behind a trusted proxy (the clients' addresses
    // come in X-Forwarded-For).
    let mm = Arc::new(
        Matchmaker::start(
            &server.url(),
            &[
                ("TRUSTED_PROXIES", "127.0.0.1"),
                ("RESERVE_RATE_PER_IP", "20"),
                ("RESERVE_BURST_PER_IP", "100"),
            ],
        )
        .await?,
    );
    // Warm up: connections, the script cache, the shard view.
    let _ = phase(&mm, 1.0, clients, rate, 0).await;
    let quiet = phase(&mm, secs, clients, rate, 0).await;
    let flooded = phase(&mm, secs, clients, rate, flooders).await;
    println!(
        "well-behaved: {clients} clients x {rate}/s for {secs}s each phase; abusive: {flooders} connections from one address"
    );
    for (name, p) in [("without flood", &quiet), ("with flood", &flooded)] {
        println!(
            "{name:>14}: p50 {:.2} ms, p99 {:.2} ms, {} granted, {} refused; flood sent {}, {} of them 429",
            p.p50_ms, p.p99_ms, p.granted, p.refused, p.flood_sent, p.flood_limited
        );
    }
    println!(
        "ratios (with / without): p50 {:.2}, p99 {:.2}",
        flooded.p50_ms / quiet.p50_ms,
        flooded.p99_ms / quiet.p99_ms
    );
    Ok(())
}
