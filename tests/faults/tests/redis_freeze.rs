//! Redis frozen (SIGSTOP) for two seconds: every path of the matchmaker and the worker
//! still answers within its deadline — an error where Redis is needed, never a hang.

use anyhow::{Context, Result};
use roomshard_faults::{Player, WorkerOptions, ms, reserve, start_matchmaker, start_worker};
use roomshard_testkit::http::request;
use roomshard_testkit::process::Proc;
use roomshard_testkit::process::wait_until;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::{Duration, Instant};

const FREEZE: Duration = Duration::from_secs(2);

/// One timed probe: (what, status, elapsed).
type Probe = (&'static str, u16, Duration);

fn timed_get(port: u16, what: &'static str, path: &str) -> Result<Probe> {
    let start = Instant::now();
    let a = request(port, "GET", path, None, b"", Duration::from_secs(5))
        .with_context(|| format!("{what} did not answer"))?;
    Ok((what, a.status, start.elapsed()))
}

#[test]
fn frozen_redis_never_hangs_a_request() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-redis-freeze")?;
    let mut worker: Proc = start_worker(
        &dir,
        &WorkerOptions {
            index: 0,
            total: 1,
            redis_url: &redis.url(),
            heartbeat_ms: 500,
            secret: None,
        },
    )?;
    worker.wait_ok("/readyz", Duration::from_secs(30))?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &redis.url(), 500)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    assert_eq!(reserve(mm.port, &json!({}))?.status, 200);

    redis.freeze()?;
    let frozen_at = Instant::now();
    let (mm_port, w_port) = (mm.port, worker.port);
    let probes: Vec<std::thread::JoinHandle<Result<Probe>>> = vec![
        std::thread::spawn(move || {
            let start = Instant::now();
            let a = request(
                mm_port,
                "POST",
                "/reserve",
                Some("application/json"),
                b"{}",
                Duration::from_secs(5),
            )?;
            Ok(("matchmaker /reserve", a.status, start.elapsed()))
        }),
        std::thread::spawn(move || timed_get(mm_port, "matchmaker /readyz", "/readyz")),
        std::thread::spawn(move || timed_get(mm_port, "matchmaker /healthz", "/healthz")),
        std::thread::spawn(move || timed_get(mm_port, "matchmaker GET /rooms", "/rooms")),
        std::thread::spawn(move || timed_get(w_port, "worker /readyz", "/readyz")),
        std::thread::spawn(move || timed_get(w_port, "worker /healthz", "/healthz")),
    ];
    let player = Player::spawn(&worker.url(), "frozen", None, "frozen")?;
    let mut results = Vec::new();
    for p in probes {
        results.push(
            p.join()
                .map_err(|_| anyhow::anyhow!("a probe panicked"))??,
        );
    }
    let join = player.join_answer(Duration::from_secs(10))?;
    let join_ms = player.ms_since_connected(&join)?;
    let within_freeze = frozen_at.elapsed() < FREEZE;
    // The fault lasts two seconds whatever the probes did.
    if let Some(rest) = FREEZE.checked_sub(frozen_at.elapsed()) {
        std::thread::sleep(rest);
    }
    redis.thaw()?;
    let thawed_at = Instant::now();

    for (what, status, elapsed) in &results {
        println!("freeze probe: {what} -> {status} in {} ms", ms(*elapsed));
    }
    let bound = |what: &str| match what {
        // Redis deadline 500 ms, plus scheduling on a loaded machine.
        "matchmaker /reserve" | "matchmaker /readyz" | "matchmaker GET /rooms" => {
            Duration::from_millis(1500)
        }
        _ => Duration::from_millis(500),
    };
    for (what, status, elapsed) in &results {
        assert!(
            *elapsed <= bound(what),
            "{what} took {elapsed:?} (bound {:?})",
            bound(what)
        );
        match *what {
            "matchmaker /reserve" | "matchmaker /readyz" | "matchmaker GET /rooms" => {
                assert_eq!(*status, 503, "{what} with Redis frozen")
            }
            "matchmaker /healthz" | "worker /healthz" => assert_eq!(*status, 200, "{what}"),
            _ => assert!(*status == 200 || *status == 503, "{what}: {status}"),
        }
    }
    // A join needs Redis for its seat: an `unavailable` error or a success, within the
    // worker's Redis deadline (1 s) plus slack.
    assert!(
        join.line["ok"] == true || join.line["error"] == "unavailable",
        "join while frozen: {}",
        join.line
    );
    assert!(join_ms <= 2000, "join answered in {join_ms} ms");
    assert!(
        within_freeze,
        "the probes outlasted the freeze; figures not meaningful"
    );

    let recovered = wait_until(
        "/reserve to answer 200 after the thaw",
        Duration::from_secs(10),
        || (reserve(mm.port, &json!({})).ok()?.status == 200).then(Instant::now),
    )?;
    worker.wait_ok("/readyz", Duration::from_secs(10))?;
    println!(
        "FIGURES redis-freeze: {}; Socket.IO join answered {} ({}) in {join_ms} ms; /reserve \
         200 again {} ms after the thaw",
        results
            .iter()
            .map(|(w, s, e)| format!("{w} {s} in {} ms", ms(*e)))
            .collect::<Vec<_>>()
            .join(", "),
        if join.line["ok"] == true {
            "ok"
        } else {
            "with an error"
        },
        join.line["error"],
        ms(recovered - thawed_at),
    );
    Ok(())
}
