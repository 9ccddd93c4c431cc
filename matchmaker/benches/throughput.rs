//! A benchmark, not a test: how many reservations one matchmaker answers per second
//! as a track holds more rooms, against the limit of the design, Redis running the
//! placement script itself.
//!
//! Run with `cargo bench -p roomshard-matchmaker --bench throughput` after building the
//! matchmaker with `--release` (`bench/run.sh matchmaker` does). It prints, in one run:
//!
//! - the load generator's own ceiling (`GET /healthz`, closed loop), so a generator that
//!   cannot keep up is seen rather than mistaken for a slow matchmaker;
//! - for each size of track (rooms, all full but one): `redis-benchmark` running `EVALSHA
//!   place.lua` with the very keys and arguments the matchmaker sends, `POST /reserve` in a
//!   closed loop at the same concurrency, and reserve latency at a fixed offered load (open
//!   loop, measured from the moment each request was due, so a queue in front of the
//!   matchmaker counts);
//! - the rate of `grant.lua`, the other script of a reservation, which does not depend on
//!   the size of the track;
//! - the rates at the largest tracks over the rate at one room.
//!
//! Knobs:
//! - `MATCHMAKER_BENCH_SECS`: seconds per phase (default 3).
//! - `MATCHMAKER_BENCH_ROOMS`: track sizes (default `1,1000,10000,100000`).
//! - `MATCHMAKER_BENCH_RATE`: the offered load of the open loop (default 1000 per second).
//! - `MATCHMAKER_BENCH_RUST_LOG`: the matchmaker's log filter (default `warn`; `info`, the
//!   production default, adds a span per request).

#[path = "../tests/common/mod.rs"]
mod common;

use anyhow::{Context, Result, bail};
use common::{Matchmaker, beat_all, keys, redis};
use fred::prelude::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use roomshard_protocol::records::Capacity;
use roomshard_testkit::process::find_program;
use roomshard_testkit::redis::RedisServer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections of the closed loops, on both sides.
const CONNECTIONS: usize = 32;
/// Most connections the open loop opens; past that, due requests wait for one (and the
/// wait counts in their latency).
const OPEN_LOOP_MAX_CONNECTIONS: usize = 256;
const SHARDS: u32 = 4;
const TTL_MS: &str = "600000";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---- CPU accounting ---------------------------------------------------------------------

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds of a process (`self` for this one), 0 if unreadable.
fn cpu_seconds(pid: &str, ticks: f64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / ticks
}

/// CPU seconds of Redis, one matchmaker and this process (the load generator).
#[derive(Clone, Copy)]
struct Cpu {
    redis: f64,
    matchmaker: f64,
    generator: f64,
}

struct Pids {
    redis: String,
    ticks: f64,
}

impl Pids {
    fn sample(&self, matchmaker: &str) -> Cpu {
        Cpu {
            redis: cpu_seconds(&self.redis, self.ticks),
            matchmaker: cpu_seconds(matchmaker, self.ticks),
            generator: cpu_seconds("self", self.ticks),
        }
    }
}

/// CPU microseconds per operation of each process between two samples.
fn per_op(a: Cpu, b: Cpu, ops: u64) -> Cpu {
    let us = |x: f64, y: f64| {
        if ops == 0 {
            0.0
        } else {
            (y - x) * 1e6 / ops as f64
        }
    };
    Cpu {
        redis: us(a.redis, b.redis),
        matchmaker: us(a.matchmaker, b.matchmaker),
        generator: us(a.generator, b.generator),
    }
}

// ---- Load generator: plain HTTP/1.1 keep-alive connections ------------------------------

type Conn = SendRequest<Full<Bytes>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Reserve,
    Healthz,
}

async fn connect(port: u16) -> Result<Conn> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// One request on a kept-alive connection; the status, the body read and dropped.
async fn call(conn: &mut Conn, what: Call, body: &Bytes) -> Result<u16> {
    let req = match what {
        Call::Reserve => hyper::Request::post("/reserve")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))?,
        Call::Healthz => hyper::Request::get("/healthz")
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))?,
    };
    conn.ready().await?;
    let resp = conn.send_request(req).await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

struct Closed {
    ok: u64,
    failed: u64,
    elapsed: Duration,
}

impl Closed {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// `connections` clients, each sending its next request (`body` for a reserve) as soon as
/// the last is answered.
async fn closed_loop(
    port: u16,
    what: Call,
    connections: usize,
    secs: f64,
    body: &str,
) -> Result<Closed> {
    let body = Bytes::from(body.to_owned());
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(connect(port).await?);
    }
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop_at = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::with_capacity(connections);
    for mut conn in conns {
        let (ok, failed, body) = (ok.clone(), failed.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                match call(&mut conn, what, &body).await {
                    Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => failed.fetch_add(1, Ordering::Relaxed),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        match connect(port).await {
                            Ok(c) => conn = c,
                            Err(_) => return,
                        }
                        0
                    }
                };
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    Ok(Closed {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

struct Open {
    latencies: Vec<Duration>,
    failed: u64,
    elapsed: Duration,
}

/// Reserves (with `body`) sent at `rate` per second whatever the earlier ones do, each
/// timed from the moment it was due. A thread of its own sends each request at its due
/// time (a thread's sleep is precise to tens of microseconds, the runtime's timer to a
/// millisecond, which would add up to two to every figure).
async fn open_loop(port: u16, rate: u64, secs: f64, body: &str) -> Result<Open> {
    let body = Bytes::from(body.to_owned());
    let idle: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
    let slots = Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_MAX_CONNECTIONS));
    let total = (rate as f64 * secs).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let runtime = tokio::runtime::Handle::current();
    let started = Instant::now();
    let pacer = tokio::task::spawn_blocking(move || {
        let mut tasks = Vec::with_capacity(total as usize);
        for sent in 0..total {
            let at = started + interval.mul_f64(sent as f64);
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let (idle, slots, body) = (idle.clone(), slots.clone(), body.clone());
            tasks.push(runtime.spawn(async move {
                let Ok(_slot) = slots.acquire().await else {
                    return (at.elapsed(), false);
                };
                let pooled = idle.lock().ok().and_then(|mut v| v.pop());
                let mut conn = match pooled {
                    Some(c) => c,
                    None => match connect(port).await {
                        Ok(c) => c,
                        Err(_) => return (at.elapsed(), false),
                    },
                };
                let status = call(&mut conn, Call::Reserve, &body).await;
                let took = at.elapsed();
                if status.is_ok()
                    && let Ok(mut v) = idle.lock()
                {
                    v.push(conn);
                }
                (took, matches!(status, Ok(200)))
            }));
        }
        tasks
    });
    let tasks = pacer.await?;
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for t in tasks {
        let (d, ok) = t.await?;
        latencies.push(d);
        if !ok {
            failed += 1;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Open {
        latencies,
        failed,
        elapsed,
    })
}

/// `rooms` rooms of `track`, registered as a matchmaker and its workers leave them: all
/// full of players but the last, which has seats to spare. The steady state of a busy
/// track: every placement looks past nothing, and fills the one room with a seat.
async fn seed_track(client: &Client, track: &str, rooms: u32) -> Result<String> {
    let k = keys();
    let index = k.track_index(track);
    let now = roomshard_protocol::now_ms();
    let version = (now * 1000).to_string();
    let now = now.to_string();
    let mut open = String::new();
    for batch in (0..rooms).collect::<Vec<_>>().chunks(5_000) {
        let pipeline = client.pipeline();
        for &i in batch {
            let room = format!("{track}-{i}");
            let shard = (i % SHARDS).to_string();
            let (capacity, players, free) = if i + 1 == rooms {
                open = room.clone();
                ("1000000000", "3", "999999997")
            } else {
                ("16", "16", "0")
            };
            let _: () = pipeline
                .hset(
                    k.room(&room),
                    [
                        ("schema", "2"),
                        ("shard", shard.as_str()),
                        ("track", track),
                        ("capacity", capacity),
                        ("players", players),
                        ("created_at", now.as_str()),
                        ("version", version.as_str()),
                    ],
                )
                .await?;
            let _: () = pipeline
                .zadd(
                    &index.free,
                    None,
                    None,
                    false,
                    false,
                    (free.parse::<f64>()?, room.as_str()),
                )
                .await?;
            let _: () = pipeline
                .hset(&index.shard, (room.as_str(), shard.as_str()))
                .await?;
            let _: () = pipeline
                .hset(&index.version, (room.as_str(), version.as_str()))
                .await?;
            let _: () = pipeline.sadd(&index.rooms, room.as_str()).await?;
            let _: () = pipeline
                .sadd(k.shard_rooms(i % SHARDS), room.as_str())
                .await?;
            let _: () = pipeline
                .zadd(k.rooms(), None, None, false, false, (0.0, room.as_str()))
                .await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
    }
    Ok(open)
}

// ---- The raw scripts ----------------------------------------------------------------------

struct Raw {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `redis-benchmark` calling `EVALSHA sha` with `keys` and `args` at `CONNECTIONS`.
async fn redis_benchmark(
    bench: &std::path::Path,
    port: u16,
    sha: &str,
    keys: &[String],
    args: &[String],
    n: u64,
) -> Result<Raw> {
    let mut argv: Vec<String> = [
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-n",
        &n.to_string(),
        "-c",
        &CONNECTIONS.to_string(),
        "-r",
        "1000000000",
        "--csv",
        "evalsha",
        sha,
        &keys.len().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    argv.extend(keys.iter().cloned());
    argv.extend(args.iter().cloned());
    let out = tokio::process::Command::new(bench)
        .args(&argv)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",...
    let line = text
        .lines()
        .last()
        .context("redis-benchmark printed nothing")?;
    let f: Vec<f64> = line
        .rsplitn(8, ',')
        .take(7)
        .map(|v| v.trim_matches('"').parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    // rsplitn yields the fields last first: max, p99, p95, p50, min, avg, rps.
    if f.len() != 7 || f[6].is_nan() {
        bail!("redis-benchmark output not understood: {text}");
    }
    Ok(Raw {
        rate: f[6],
        p50_ms: f[3],
        p99_ms: f[1],
    })
}

/// What the matchmaker sends place.lua for `{"track": track}` with all four shards
/// eligible: the track's index keys and its openings and waiting, then ttl, lease, due
/// batch, room cap, the shards it may not place on (none), and the opening's nonce, lease,
/// room seats and wait.
fn place_call(track: &str) -> (Vec<String>, Vec<String>) {
    let index = keys().track_index(track);
    let mut keys = index.all().map(str::to_owned).to_vec();
    keys.extend([index.openings, index.waiting]);
    let args: Vec<String> = [
        TTL_MS,
        "15000",
        "2",
        "0",
        "0",
        "bench-nonce-xxxxxxxxxx",
        "15000",
        "8",
        "550",
    ]
    .map(str::to_owned)
    .to_vec();
    (keys, args)
}

/// What the matchmaker sends grant.lua for a seat of `room`, a fresh nonce each call.
fn grant_call(room: &str) -> (Vec<String>, Vec<String>) {
    let k = keys();
    // A nonce as long as the matchmaker's (22 characters), fresh on every call.
    let nonce = "bench-__rand_int__xxxx";
    let keys = vec![
        k.room(room),
        k.room_reservations(room),
        k.reservation(room, nonce),
    ];
    let mut args: Vec<String> = [room, nonce, TTL_MS, "", "0", "", "", ""]
        .map(str::to_owned)
        .to_vec();
    args.push(SHARDS.to_string());
    for i in 0..SHARDS {
        args.extend([
            i.to_string(),
            format!("game-{i}"),
            format!("ws://127.0.0.1:{}", 3000 + i),
        ]);
    }
    (keys, args)
}

/// One track size's figures.
struct Size {
    rooms: u32,
    raw: Raw,
    http: f64,
    open_p50_ms: f64,
    open_p99_ms: f64,
    open_rate: f64,
}

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(measure_reserve_throughput())
}

async fn measure_reserve_throughput() -> Result<()> {
    let secs: f64 = env_or("MATCHMAKER_BENCH_SECS", 3.0);
    let sizes: Vec<u32> = std::env::var("MATCHMAKER_BENCH_ROOMS")
        .unwrap_or_else(|_| "1,1000,10000,100000".to_owned())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .filter(|r| *r > 0)
        .collect();
    let rate: u64 = env_or("MATCHMAKER_BENCH_RATE", 1_000);

    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    // Every shard may hold every seeded room; heartbeats stay fresh for as long as the
    // measurement runs (a heartbeat record lives a minute).
    let capacity = Capacity {
        rooms_per_shard: 1_000_000,
        players_per_room: 1_000_000_000,
    };
    beat_all(server.port(), SHARDS, capacity)?;
    let beating = {
        let port = server.port();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                let _ = tokio::task::spawn_blocking(move || beat_all(port, SHARDS, capacity)).await;
            }
        })
    };
    let result = measure(&server, &client, secs, &sizes, rate).await;
    beating.abort();
    result
}

async fn measure(
    server: &RedisServer,
    client: &Client,
    secs: f64,
    sizes: &[u32],
    rate: u64,
) -> Result<()> {
    let bench = find_program("redis-benchmark")
        .context("redis-benchmark is not installed (Debian redis-tools; hack/install-deps.sh)")?;
    let log = std::env::var("MATCHMAKER_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    let env = [("RESERVATION_TTL_MS", TTL_MS), ("RUST_LOG", log.as_str())];
    let mut mm = Matchmaker::start(&server.url(), &env).await?;
    let pid = mm.child().pid().to_string();
    let pids = Pids {
        redis: server.pid().to_string(),
        ticks: clock_ticks(),
    };
    let place_sha: String = client
        .script_load(include_str!("../src/store/place.lua"))
        .await?;
    let grant_source = format!(
        "{}\n{}",
        roomshard_protocol::seats::LEDGER_LUA,
        include_str!("../src/store/grant.lua")
    );
    let grant_sha: String = client.script_load(grant_source).await?;

    println!(
        "matchmaker throughput: one matchmaker on one Redis, {SHARDS} shards, tracks of {sizes:?} \
         rooms all full but one, {CONNECTIONS} connections, {secs} s per phase, open loop at {rate}/s"
    );
    closed_loop(mm.port, Call::Healthz, CONNECTIONS, 1.0, "").await?; // warm-up
    let a = pids.sample(&pid);
    let ceiling = closed_loop(mm.port, Call::Healthz, CONNECTIONS, secs, "").await?;
    let b = pids.sample(&pid);
    let c = per_op(a, b, ceiling.ok);
    println!(
        "load generator ceiling, GET /healthz closed loop: {:.0}/s (CPU per request: matchmaker {:.1} µs, generator {:.1} µs)",
        ceiling.rate(),
        c.matchmaker,
        c.generator
    );

    let mut figures = Vec::new();
    let mut open_room = String::new();
    for &rooms in sizes {
        let track = format!("scan-{rooms}");
        let seeding = Instant::now();
        let open = seed_track(client, &track, rooms).await?;
        let seeded = seeding.elapsed();
        let body = format!(r#"{{"track":"{track}"}}"#);
        // Warm-up, which also reads the index's hash tables in.
        closed_loop(mm.port, Call::Reserve, CONNECTIONS, 0.5, &body).await?;
        let (keys, args) = place_call(&track);
        let a = pids.sample("self");
        let n = ((RAW_GUESS_PER_SEC * secs) as u64).max(5_000);
        let raw = redis_benchmark(&bench, server.port(), &place_sha, &keys, &args, n).await?;
        let b = pids.sample("self");
        let raw_cpu = per_op(a, b, n).redis;

        let held_key = keys_of_room(&open);
        let held_before: u64 = client.zcard(&held_key).await?;
        let a = pids.sample(&pid);
        let http = closed_loop(mm.port, Call::Reserve, CONNECTIONS, secs, &body).await?;
        let b = pids.sample(&pid);
        let held_after: u64 = client.zcard(&held_key).await?;
        let held = held_after.saturating_sub(held_before);
        if held != http.ok {
            bail!(
                "{} reservations answered but {held} seats held in {open}",
                http.ok
            );
        }
        let c = per_op(a, b, http.ok);

        let offered = open_loop(mm.port, rate, secs, &body).await?;
        let n = offered.latencies.len() as u64;
        let size = Size {
            rooms,
            raw,
            http: http.rate(),
            open_p50_ms: ms(percentile(&offered.latencies, 0.50)),
            open_p99_ms: ms(percentile(&offered.latencies, 0.99)),
            open_rate: n.saturating_sub(offered.failed) as f64 / offered.elapsed.as_secs_f64(),
        };
        println!(
            "{rooms} rooms (seeded in {seeded:.1?}): redis-benchmark EVALSHA place.lua {:.0}/s (p50 {:.2} ms, p99 {:.2} ms; Redis {raw_cpu:.1} µs CPU each) | \
             POST /reserve closed loop {:.0}/s, {} failed (Redis {:.1} µs, matchmaker {:.1} µs CPU each) | \
             offered {rate}/s: achieved {:.0}/s, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            size.raw.rate,
            size.raw.p50_ms,
            size.raw.p99_ms,
            size.http,
            http.failed,
            c.redis,
            c.matchmaker,
            size.open_rate,
            offered.failed,
            size.open_p50_ms,
            size.open_p99_ms,
            ms(percentile(&offered.latencies, 1.0)),
        );
        figures.push(size);
        open_room = open;
    }

    // The other script of a reservation: the seat granted in the room's own slot.
    let (keys, args) = grant_call(&open_room);
    let grant = redis_benchmark(&bench, server.port(), &grant_sha, &keys, &args, 20_000).await?;
    println!(
        "redis-benchmark EVALSHA grant.lua (any track size): {:.0}/s (p50 {:.2} ms, p99 {:.2} ms)",
        grant.rate, grant.p50_ms, grant.p99_ms
    );

    let Some(one) = figures.iter().find(|f| f.rooms == 1) else {
        return Ok(());
    };
    for f in figures.iter().filter(|f| f.rooms > 1) {
        println!(
            "{} rooms over 1 room: raw place.lua {:.2}, POST /reserve {:.2} (goal at 10000 rooms: at least 0.50)",
            f.rooms,
            f.raw.rate / one.raw.rate,
            f.http / one.http,
        );
    }
    let worst = figures.iter().map(|f| f.open_p99_ms).fold(0.0f64, f64::max);
    println!(
        "worst p99 at {rate}/s offered over all track sizes: {worst:.2} ms (goal: under 5 ms)"
    );
    Ok(())
}

/// Expected order of the raw rate, to size the `redis-benchmark` run to a phase.
const RAW_GUESS_PER_SEC: f64 = 20_000.0;

fn keys_of_room(room: &str) -> String {
    keys().room_reservations(room)
}
