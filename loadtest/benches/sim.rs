//! A benchmark, not a test: `roomshard-sim` against a single Redis and against a Redis
//! Cluster of three primaries (with a replica each), in one run, with what Redis itself
//! says it spent (`INFO cpu`, `INFO commandstats`, `DBSIZE`, read before and after each
//! phase).
//!
//! Run with `cargo bench -p roomshard-loadtest --bench sim` (`bench/run.sh sim`). For each
//! Redis it prints:
//!
//! - heartbeats alone: beats per second, their latency, and Redis CPU per second;
//! - the matchmaker's shard view at that many shards: read time and Redis CPU per read;
//! - arrivals (reserve, then join with the reservation): reserves per second, reserve and
//!   join latency, Redis CPU per arrival with the heartbeats' share taken out;
//! - departures (leave): leaves per second and latency;
//! - on the cluster, the share of the busiest primary in the room-sync publishes, the keys,
//!   the commands and the CPU.
//!
//! Knobs: `SIM_SHARDS` (1024), `SIM_PLAYERS` (100000), `SIM_CONCURRENCY` (64),
//! `SIM_ROOMS_PER_SHARD` (100), `SIM_TRACKS` (64), `SIM_HEARTBEAT_MS` (2000),
//! `SIM_TARGETS` (`single,cluster`).

use anyhow::Result;
use roomshard_loadtest::sim::{Plan, Sim};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::redis_cluster::RedisCluster;
use roomshard_testkit::redis_stats::ServerStats;
use std::time::Duration;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The primaries to read, and how to read them.
struct Target {
    name: &'static str,
    url: String,
    ports: Vec<u16>,
}

impl Target {
    fn stats(&self) -> Result<Vec<ServerStats>> {
        self.ports.iter().map(|p| ServerStats::read(*p)).collect()
    }

    fn keys(&self) -> Result<Vec<i64>> {
        self.ports
            .iter()
            .map(|p| {
                roomshard_testkit::resp::query(*p, &["DBSIZE"])?
                    .as_int()
                    .ok_or_else(|| anyhow::anyhow!("DBSIZE"))
            })
            .collect()
    }
}

fn since(after: &[ServerStats], before: &[ServerStats]) -> Vec<ServerStats> {
    after.iter().zip(before).map(|(a, b)| a.since(b)).collect()
}

/// The busiest node's share of `values`, as a percentage (100 / nodes is even).
fn busiest_share(values: &[u64]) -> f64 {
    let total: u64 = values.iter().sum();
    let max = values.iter().max().copied().unwrap_or(0);
    if total == 0 {
        0.0
    } else {
        100.0 * max as f64 / total as f64
    }
}

fn run(target: &Target, plan: Plan, players: u64) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let heartbeat = plan.heartbeat;
    let shards = plan.shards;
    let mut sim = rt.block_on(Sim::start(plan))?;

    let s0 = target.stats()?;
    let beats = rt.block_on(sim.idle(heartbeat.saturating_mul(3)));
    let s1 = target.stats()?;
    let idle = ServerStats::total(&since(&s1, &s0));
    let idle_cpu_per_s = idle.cpu_us as f64 / beats.seconds;

    let reads = 20;
    let view = rt.block_on(sim.refresh_view(reads))?;
    let s2 = target.stats()?;
    let view_cpu = ServerStats::total(&since(&s2, &s1)).cpu_us as f64
        - idle_cpu_per_s * view.mean_ms * f64::from(reads) / 1000.0;

    let (arrivals, online) = rt.block_on(sim.arrive(players));
    let s3 = target.stats()?;
    let keys = target.keys()?;
    let arrive = since(&s3, &s2);
    let arrive_total = ServerStats::total(&arrive);
    let granted = arrivals.first.count.max(1) as f64;
    let per_arrival =
        (arrive_total.cpu_us as f64 - idle_cpu_per_s * arrivals.seconds).max(0.0) / granted;

    let departures = rt.block_on(sim.depart(online));
    let s4 = target.stats()?;
    let depart = since(&s4, &s3);
    let per_departure =
        (ServerStats::total(&depart).cpu_us as f64 - idle_cpu_per_s * departures.seconds).max(0.0)
            / departures.first.count.max(1) as f64;
    rt.block_on(sim.stop());

    println!("== {} ({shards} shards, {players} players)", target.name);
    println!(
        "heartbeats alone: {:.0} beats/s ({} failed), p50 {:.2} ms p99 {:.2} ms; Redis CPU {:.0} µs/s ({:.1} µs per beat)",
        beats.per_second,
        beats.failed,
        beats.latency.p50_ms,
        beats.latency.p99_ms,
        idle_cpu_per_s,
        idle_cpu_per_s / beats.per_second.max(f64::EPSILON),
    );
    println!(
        "shard view read at {shards} shards: mean {:.2} ms p99 {:.2} ms; Redis CPU {:.0} µs per read",
        view.mean_ms,
        view.p99_ms,
        view_cpu / f64::from(reads)
    );
    println!(
        "arrivals: {:.0} reserves/s over {:.1} s ({} granted, failed {:?}); reserve p50 {:.2} ms p99 {:.2} ms; join p50 {:.2} ms p99 {:.2} ms; Redis CPU {per_arrival:.0} µs per arrival (reserve + join)",
        arrivals.per_second,
        arrivals.seconds,
        arrivals.first.count,
        arrivals.failed,
        arrivals.first.p50_ms,
        arrivals.first.p99_ms,
        arrivals.second.p50_ms,
        arrivals.second.p99_ms,
    );
    println!(
        "departures: {:.0} leaves/s (failed {:?}); leave p50 {:.2} ms p99 {:.2} ms; Redis CPU {per_departure:.0} µs per leave",
        departures.per_second, departures.failed, departures.first.p50_ms, departures.first.p99_ms,
    );
    if target.ports.len() > 1 {
        let both: Vec<ServerStats> = arrive
            .iter()
            .zip(&depart)
            .map(|(a, d)| ServerStats::total([a, d]))
            .collect();
        let col = |f: &dyn Fn(&ServerStats) -> u64| both.iter().map(f).collect::<Vec<u64>>();
        let publishes = col(&|s| s.calls("spublish"));
        let commands = col(&|s| s.commands.values().map(|c| c.0).sum());
        let cpu = col(&|s| s.cpu_us);
        let keys_u: Vec<u64> = keys
            .iter()
            .map(|k| u64::try_from(*k).unwrap_or(0))
            .collect();
        println!(
            "spread over {} primaries (busiest node's share; even is {:.1} %): room-sync publishes {:.1} % {publishes:?}; keys {:.1} % {keys_u:?}; commands {:.1} %; CPU {:.1} %",
            target.ports.len(),
            100.0 / target.ports.len() as f64,
            busiest_share(&publishes),
            busiest_share(&keys_u),
            busiest_share(&commands),
            busiest_share(&cpu),
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let players = env_or("SIM_PLAYERS", 100_000u64);
    let plan = |url: String| Plan {
        redis_url: url,
        set: "sim".into(),
        shards: env_or("SIM_SHARDS", 1024),
        rooms_per_shard: env_or("SIM_ROOMS_PER_SHARD", 100),
        room_capacity: 16,
        tracks: env_or("SIM_TRACKS", 64),
        heartbeat: Duration::from_millis(env_or("SIM_HEARTBEAT_MS", 2000)),
        concurrency: env_or("SIM_CONCURRENCY", 64),
        redis_timeout: Duration::from_millis(500),
    };
    let targets = env_or("SIM_TARGETS", "single,cluster".to_owned());
    if targets.contains("single") {
        let redis = RedisServer::start()?;
        let target = Target {
            name: "single Redis",
            url: redis.url(),
            ports: vec![redis.port()],
        };
        run(&target, plan(target.url.clone()), players)?;
    }
    if targets.contains("cluster") {
        let cluster = RedisCluster::start()?;
        let target = Target {
            name: "Redis Cluster, 3 primaries + 3 replicas",
            url: cluster.url(),
            ports: cluster.primaries()?,
        };
        run(&target, plan(target.url.clone()), players)?;
    }
    Ok(())
}
