//! Measurements, not assertions: how many reservations one matchmaker answers per second,
//! against the limit of the design, which is Redis running `reserve.lua` itself.
//!
//! Run with `cargo test --release -p roomshard-matchmaker --test throughput -- --ignored
//! --nocapture` (`bench/run.sh matchmaker` does). It prints:
//!
//! - the load generator's own ceiling (`GET /healthz`, closed loop), so a generator that
//!   cannot keep up is seen rather than mistaken for a slow matchmaker;
//! - rounds of `redis-benchmark` running `EVALSHA reserve.lua` with the very keys and
//!   arguments the matchmaker sends, side by side with `POST /reserve` in a closed loop at the
//!   same concurrency, with the CPU each process spent per reservation, and the ratio;
//! - reserve latency at fixed offered loads (open loop, measured from the moment each
//!   request was due, so a queue in front of the matchmaker counts).
//!
//! Every request joins the one existing room of the track: the common, steady path. A last
//! line gives the raw script's rate as the track holds more rooms.
//!
//! Knobs:
//! - `MATCHMAKER_BENCH_SECS`: seconds per phase (default 2).
//! - `MATCHMAKER_BENCH_ROUNDS`: rounds (default 5). The order of the phases rotates from
//!   round to round and the summary takes medians, because other work on the machine moves
//!   single rounds a lot.
//! - `MATCHMAKER_BENCH_RATES`: offered loads per second (default `1000,2000,4000,8000`).
//! - `MATCHMAKER_BENCH_BASELINE`: the path of another `roomshard-matchmaker` build, measured
//!   side by side with this one in the same rounds (e.g. the build before a change), and
//!   `MATCHMAKER_BENCH_BASELINE_LUA`: that build's `reserve.lua`, run raw as well so its
//!   ratio is taken against its own script.
//! - `MATCHMAKER_BENCH_RUST_LOG`: the matchmakers' log filter (default `warn`; `info`, the
//!   production default, adds a span per request).

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
const TRACK: &str = "bench";
const TTL_MS: &str = "600000";
const RESERVE_BODY: &[u8] = br#"{"track":"bench"}"#;

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

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
async fn call(conn: &mut Conn, what: Call) -> Result<u16> {
    let req = match what {
        Call::Reserve => hyper::Request::post("/reserve")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(RESERVE_BODY)))?,
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

/// `connections` clients, each sending its next request as soon as the last is answered.
async fn closed_loop(port: u16, what: Call, connections: usize, secs: f64) -> Result<Closed> {
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
        let (ok, failed) = (ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                match call(&mut conn, what).await {
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

/// Requests sent at `rate` per second whatever the earlier ones do, each timed from the
/// moment it was due.
async fn open_loop(port: u16, rate: u64, secs: f64) -> Result<Open> {
    let idle: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
    let slots = Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_MAX_CONNECTIONS));
    let total = (rate as f64 * secs).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut sent = 0u64;
    while sent < total {
        tick.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            let at = started + interval.mul_f64(sent as f64);
            let (idle, slots) = (idle.clone(), slots.clone());
            tasks.push(tokio::spawn(async move {
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
                let status = call(&mut conn, Call::Reserve).await;
                let took = at.elapsed();
                if status.is_ok()
                    && let Ok(mut v) = idle.lock()
                {
                    v.push(conn);
                }
                (took, matches!(status, Ok(200)))
            }));
            sent += 1;
        }
    }
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

/// Rooms per track for the scan-cost line.
const SCAN_ROOMS: [u32; 4] = [1, 10, 100, 1000];

/// `rooms` rooms of `track`, registered as the matchmaker registers them: all full of
/// players but the last, which has seats to spare. The steady state of a busy track.
async fn seed_track(client: &Client, track: &str, rooms: u32) -> Result<()> {
    let k = keys();
    let now = roomshard_protocol::now_ms().to_string();
    let pipeline = client.pipeline();
    for i in 0..rooms {
        let room = format!("{track}-{i}");
        let (capacity, players) = if i + 1 == rooms {
            ("1000000", "3")
        } else {
            ("16", "16")
        };
        let _: () = pipeline
            .hset(
                k.room(&room),
                [
                    ("schema", "1"),
                    ("shard", &(i % SHARDS).to_string()),
                    ("track", track),
                    ("capacity", capacity),
                    ("players", players),
                    ("created_at", &now),
                ],
            )
            .await?;
        let _: () = pipeline.sadd(k.track_rooms(track), room.as_str()).await?;
        let _: () = pipeline
            .sadd(k.shard_rooms(i % SHARDS), room.as_str())
            .await?;
    }
    let _: Vec<Value> = pipeline.all().await?;
    Ok(())
}

// ---- The raw script -----------------------------------------------------------------------

struct Raw {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
}

/// `redis-benchmark` calling `EVALSHA reserve.lua` with the keys and arguments the
/// matchmaker sends for `{"track":"bench"}` (a fresh nonce each call), at `CONNECTIONS`.
async fn redis_benchmark(
    bench: &std::path::Path,
    port: u16,
    sha: &str,
    track: &str,
    n: u64,
) -> Result<Raw> {
    let k = keys();
    let mut args: Vec<String> = [
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
        "2",
        &k.track_rooms(track),
        &k.draining(),
        k.prefix(),
        TTL_MS,
        // A nonce as long as the matchmaker's (22 characters), fresh on every call.
        "bench-__rand_int__xxxx",
        track,
        "",
        "",
        "",
        &SHARDS.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for i in 0..SHARDS {
        args.extend([
            i.to_string(),
            format!("game-{i}"),
            format!("ws://127.0.0.1:{}", 3000 + i),
        ]);
    }
    // New-room candidates, as the matchmaker sends them (never used: the room has seats).
    args.push(SHARDS.to_string());
    for i in 0..SHARDS {
        args.extend([
            i.to_string(),
            format!("r-{:016x}", 0x1000 + u64::from(i)),
            "1000".to_owned(),
            "1000000".to_owned(),
        ]);
    }
    let out = tokio::process::Command::new(bench)
        .args(&args)
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
        requests: n,
    })
}

/// One matchmaker under test: this build, or another one named by
/// `MATCHMAKER_BENCH_BASELINE` (measured side by side, e.g. before and after a change).
struct Side {
    label: &'static str,
    mm: Matchmaker,
    pid: String,
    /// The script its ratio is taken against (index into the scripts).
    script: usize,
    rates: Vec<f64>,
    ratios: Vec<f64>,
}

/// A reserve script run raw by `redis-benchmark`.
struct Script {
    label: &'static str,
    sha: String,
    rates: Vec<f64>,
    /// Requests per run: about one phase's worth at the last rate seen.
    n: u64,
}

/// One measurement of a round.
#[derive(Clone, Copy)]
enum Phase {
    Raw(usize),
    Http(usize),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run on demand"]
async fn measure_reserve_throughput() -> Result<()> {
    let secs: f64 = env_or("MATCHMAKER_BENCH_SECS", 2.0);
    let rounds: usize = env_or("MATCHMAKER_BENCH_ROUNDS", 5).max(1);
    let rates: Vec<u64> = std::env::var("MATCHMAKER_BENCH_RATES")
        .unwrap_or_else(|_| "1000,2000,4000,8000".to_owned())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();

    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    // Seats enough that every request joins one existing room. The shards keep beating for
    // as long as the measurement runs (a heartbeat record lives a minute).
    let capacity = Capacity {
        rooms_per_shard: 1_000,
        players_per_room: 1_000_000_000,
    };
    beat_all(server.port(), SHARDS, capacity)?;
    let beating = {
        let port = server.port();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let _ = tokio::task::spawn_blocking(move || beat_all(port, SHARDS, capacity)).await;
            }
        })
    };
    let result = measure(&server, &client, secs, rounds, &rates).await;
    beating.abort();
    result
}

async fn measure(
    server: &RedisServer,
    client: &Client,
    secs: f64,
    rounds: usize,
    rates: &[u64],
) -> Result<()> {
    let log = std::env::var("MATCHMAKER_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
    let env = [("RESERVATION_TTL_MS", TTL_MS), ("RUST_LOG", log.as_str())];
    let mut sides = Vec::new();
    let mut mm = Matchmaker::start(&server.url(), &env).await?;
    sides.push(Side {
        label: "this build",
        pid: mm.child().pid().to_string(),
        mm,
        script: 0,
        rates: Vec::new(),
        ratios: Vec::new(),
    });
    if let Ok(path) = std::env::var("MATCHMAKER_BENCH_BASELINE") {
        let mut mm = Matchmaker::start_binary(std::path::Path::new(&path), &server.url(), &env)
            .await
            .context("starting the baseline build named by MATCHMAKER_BENCH_BASELINE")?;
        sides.push(Side {
            label: "baseline build",
            pid: mm.child().pid().to_string(),
            mm,
            script: 0,
            rates: Vec::new(),
            ratios: Vec::new(),
        });
    }
    let pids = Pids {
        redis: server.pid().to_string(),
        ticks: clock_ticks(),
    };

    // The room every later request joins.
    let mut conn = connect(sides[0].mm.port).await?;
    if call(&mut conn, Call::Reserve).await? != 200 {
        bail!("the first reservation failed");
    }
    let rooms: Vec<String> = client.smembers(keys().track_rooms(TRACK)).await?;
    let [room] = rooms.as_slice() else {
        bail!("expected one room in the track, found {rooms:?}");
    };
    let held_key = keys().room_reservations(room);

    println!(
        "matchmaker throughput: {} on one Redis, {SHARDS} shards, one room of {TRACK:?} joined by every \
         request, {CONNECTIONS} connections, {secs} s per phase, {rounds} rounds",
        sides
            .iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    for side in &sides {
        closed_loop(side.mm.port, Call::Reserve, CONNECTIONS, 1.0).await?; // warm-up
        let a = pids.sample(&side.pid);
        let ceiling = closed_loop(side.mm.port, Call::Healthz, CONNECTIONS, secs).await?;
        let b = pids.sample(&side.pid);
        let c = per_op(a, b, ceiling.ok);
        println!(
            "{}: load generator ceiling, GET /healthz closed loop: {:.0}/s (CPU per request: matchmaker {:.1} µs, generator {:.1} µs)",
            side.label,
            ceiling.rate(),
            c.matchmaker,
            c.generator
        );
    }

    let Some(bench) = find_program("redis-benchmark") else {
        println!("redis-benchmark is not installed (Debian redis-tools); skipping the raw rate");
        return Ok(());
    };
    // The script of this build, and the baseline build's own when it is given: each side's
    // ratio is taken against the script it runs.
    let mut scripts = vec![Script {
        label: "reserve.lua",
        sha: client
            .script_load(include_str!("../src/store/reserve.lua"))
            .await?,
        rates: Vec::new(),
        n: 20_000,
    }];
    if sides.len() > 1
        && let Ok(path) = std::env::var("MATCHMAKER_BENCH_BASELINE_LUA")
    {
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("reading MATCHMAKER_BENCH_BASELINE_LUA ({path})"))?;
        scripts.push(Script {
            label: "baseline reserve.lua",
            sha: client.script_load(source).await?,
            rates: Vec::new(),
            n: 20_000,
        });
        sides[1].script = 1;
    }
    for round in 1..=rounds {
        // Rotate who goes first, so no side always follows another.
        let mut parts = Vec::new();
        let mut order: Vec<Phase> = (0..scripts.len())
            .map(Phase::Raw)
            .chain((0..sides.len()).map(Phase::Http))
            .collect();
        let first = round % order.len();
        order.rotate_left(first);
        let mut raw_rates = vec![0.0; scripts.len()];
        let mut http_rates = vec![0.0; sides.len()];
        for phase in order {
            match phase {
                Phase::Raw(i) => {
                    let script = &mut scripts[i];
                    let a = pids.sample("self");
                    let raw = redis_benchmark(&bench, server.port(), &script.sha, TRACK, script.n)
                        .await?;
                    let b = pids.sample("self");
                    let rc = per_op(a, b, raw.requests);
                    script.n = ((raw.rate * secs) as u64).max(5_000);
                    raw_rates[i] = raw.rate;
                    parts.push(format!(
                        "redis-benchmark EVALSHA {} {:.0}/s (p50 {:.2} ms, p99 {:.2} ms; Redis {:.1} µs CPU each)",
                        script.label, raw.rate, raw.p50_ms, raw.p99_ms, rc.redis
                    ));
                }
                Phase::Http(i) => {
                    let side = &sides[i];
                    let held_before: u64 = client.zcard(&held_key).await?;
                    let a = pids.sample(&side.pid);
                    let http = closed_loop(side.mm.port, Call::Reserve, CONNECTIONS, secs).await?;
                    let b = pids.sample(&side.pid);
                    let held_after: u64 = client.zcard(&held_key).await?;
                    let held = held_after.saturating_sub(held_before);
                    if held != http.ok {
                        bail!("{} reservations answered but {held} seats held", http.ok);
                    }
                    let c = per_op(a, b, http.ok);
                    http_rates[i] = http.rate();
                    parts.push(format!(
                        "{}: POST /reserve {:.0}/s, {} failed (Redis {:.1} µs, matchmaker {:.1} µs, generator {:.1} µs CPU each)",
                        side.label,
                        http.rate(),
                        http.failed,
                        c.redis,
                        c.matchmaker,
                        c.generator
                    ));
                }
            }
        }
        for (script, rate) in scripts.iter_mut().zip(&raw_rates) {
            script.rates.push(*rate);
        }
        for (side, rate) in sides.iter_mut().zip(http_rates) {
            let ratio = rate / raw_rates[side.script];
            side.rates.push(rate);
            side.ratios.push(ratio);
            parts.push(format!("{} ratio {ratio:.2}", side.label));
        }
        println!("round {round}: {}", parts.join(" | "));
    }
    for side in &sides {
        let (lo, hi) = side
            .ratios
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let script = &scripts[side.script];
        println!(
            "{}: closed-loop max POST /reserve {:.0}/s; raw {} {:.0}/s; ratio {:.2} (median of {rounds} rounds, range {lo:.2}–{hi:.2}; target at least 0.50)",
            side.label,
            median(side.rates.clone()),
            script.label,
            median(script.rates.clone()),
            median(side.ratios.clone()),
        );
    }
    let sha = scripts[0].sha.clone();

    // What placing a seat costs as a track holds more rooms: the script looks at every room
    // of the track to fill the fullest one that has a seat.
    let mut scan = Vec::new();
    for rooms in SCAN_ROOMS {
        let track = format!("scan-{rooms}");
        seed_track(client, &track, rooms).await?;
        let raw = redis_benchmark(&bench, server.port(), &sha, &track, 3_000).await?;
        scan.push(format!("{rooms} rooms {:.0}/s", raw.rate));
    }
    println!(
        "redis-benchmark EVALSHA reserve.lua by rooms in the track (all full but one): {}",
        scan.join(", ")
    );

    for &rate in rates {
        for side in &sides {
            let a = pids.sample(&side.pid);
            let open = open_loop(side.mm.port, rate, secs).await?;
            let b = pids.sample(&side.pid);
            let n = open.latencies.len() as u64;
            let c = per_op(a, b, n);
            println!(
                "{}: offered {rate}/s: achieved {:.0}/s, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (matchmaker {:.1} µs CPU each)",
                side.label,
                n.saturating_sub(open.failed) as f64 / open.elapsed.as_secs_f64(),
                open.failed,
                ms(percentile(&open.latencies, 0.50)),
                ms(percentile(&open.latencies, 0.99)),
                ms(percentile(&open.latencies, 1.0)),
                c.matchmaker,
            );
        }
    }
    Ok(())
}
