//! Measurements, not assertions: reserve latency at a fixed offered load, closed-loop
//! throughput, and the raw rate of the same Lua script under `redis-benchmark`.
//! Run with `cargo test -p roomshard-matchmaker --test throughput -- --ignored --nocapture`.

mod common;

use common::{Http, Matchmaker, beat_all, keys, redis};
use fred::prelude::*;
use roomshard_protocol::records::Capacity;
use roomshard_testkit::process::find_program;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const OFFERED_PER_SEC: u64 = 400;
const OFFERED_SECS: u64 = 5;
const CLOSED_LOOP_CLIENTS: usize = 32;
const CLOSED_LOOP_SECS: u64 = 3;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run on demand"]
async fn measure_reserve_throughput() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    // Seats enough that every request joins one existing room: the common, steady path.
    beat_all(
        &client,
        4,
        Capacity {
            rooms_per_shard: 1_000,
            players_per_room: 1_000_000,
        },
    )
    .await?;
    let mm = Matchmaker::start(&server.url(), &[("RESERVATION_TTL_MS", "600000")]).await?;
    let http = Http::new();
    let url = mm.url("/reserve");
    let body = json!({"track": "bench"});
    let (s, _) = http.post_json(&url, &body).await?;
    assert_eq!(s, 200);

    // Open loop: a request every 1/OFFERED_PER_SEC s, whatever the previous ones do.
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / OFFERED_PER_SEC));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..OFFERED_PER_SEC * OFFERED_SECS {
        tick.tick().await;
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let status = match http.post_json(&url, &body).await {
                Ok((s, b)) => format!("{s} {}", b["error"]["code"].as_str().unwrap_or("")),
                Err(_) => "transport error".to_owned(),
            };
            (t.elapsed(), status)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = std::collections::BTreeMap::<String, usize>::new();
    for t in tasks {
        let (d, status) = t.await?;
        latencies.push(d);
        if !status.starts_with("200") {
            *failed.entry(status).or_default() += 1;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    println!(
        "offered {OFFERED_PER_SEC}/s for {OFFERED_SECS}s: {} done in {elapsed:.2?} ({:.0}/s), failures {failed:?}, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );

    // Closed loop: as fast as CLOSED_LOOP_CLIENTS clients can go.
    let done = Arc::new(AtomicUsize::new(0));
    let stop_at = Instant::now() + Duration::from_secs(CLOSED_LOOP_SECS);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLOSED_LOOP_CLIENTS {
        let (http, url, body, done) = (http.clone(), url.clone(), body.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                if let Ok((200, _)) = http.post_json(&url, &body).await {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let http_rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("closed loop, {CLOSED_LOOP_CLIENTS} clients: {http_rate:.0} reserves/s through HTTP");

    // The same script, called directly.
    let Some(bench) = find_program("redis-benchmark") else {
        println!("redis-benchmark is not installed (Debian redis-tools); skipping the raw rate");
        return Ok(());
    };
    let source = include_str!("../src/store/reserve.lua");
    let sha: String = client.script_load(source).await?;
    let k = keys();
    let mut args: Vec<String> = vec![
        "-h".into(),
        "127.0.0.1".into(),
        "-p".into(),
        server.port().to_string(),
        "-n".into(),
        "20000".into(),
        "-c".into(),
        CLOSED_LOOP_CLIENTS.to_string(),
        "-r".into(),
        "1000000000".into(),
        "-q".into(),
        "evalsha".into(),
        sha,
        "2".into(),
        k.track_rooms("bench"),
        k.draining(),
        k.prefix().to_owned(),
        "600000".into(),
        "bench-__rand_int__".into(),
        "bench".into(),
        String::new(),
        String::new(),
        String::new(),
        "4".into(),
    ];
    for i in 0..4 {
        args.extend([i.to_string(), format!("game-{i}"), String::new()]);
    }
    args.push("0".into());
    let out = tokio::process::Command::new(bench)
        .args(&args)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let raw_rate = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(3)
        .find(|w| w[1] == "requests" && w[2] == "per")
        .and_then(|w| w[0].parse::<f64>().ok());
    match raw_rate {
        Some(raw) => println!(
            "redis-benchmark evalsha reserve.lua: {raw:.0}/s; HTTP path reaches {:.1}% of it",
            100.0 * http_rate / raw
        ),
        None => println!("redis-benchmark output not understood: {text}"),
    }
    Ok(())
}
