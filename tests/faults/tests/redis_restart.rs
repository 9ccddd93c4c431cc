//! Redis killed and started again empty (no persistence): workers register again, the
//! Socket.IO adapter and the room sync resubscribe, what could not be sent meanwhile is
//! counted, and the matchmaker answers 503 during the outage and 200 after.

use anyhow::Result;
use roomshard_faults::{Player, keys, ms, reserve, start_matchmaker, start_ready_workers};
use roomshard_testkit::http::send;
use roomshard_testkit::metrics::sum;
use roomshard_testkit::process::wait_until;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::{Duration, Instant};

const HEARTBEAT_MS: u64 = 1000;
const DROPPED: &str = "roomshard_worker_sync_messages_dropped_total";

#[test]
fn workers_and_adapter_recover_from_an_empty_redis() -> Result<()> {
    let mut redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-redis-restart")?;
    // Open joins (no secret), so one room can have a player on each worker.
    let workers = start_ready_workers(&dir, 2, &redis.url(), HEARTBEAT_MS, None)?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &redis.url(), HEARTBEAT_MS)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    let before = reserve(mm.port, &json!({"track": "warmup"}))?;
    assert_eq!(before.status, 200, "{}", before.body);

    let a = Player::join(&workers[0].url(), "shared", None, "on-0")?;
    let b = Player::join(&workers[1].url(), "shared", None, "on-1")?;
    let (a_id, b_id) = (a.id()?, b.id()?);
    let t = Instant::now();
    a.wait_sees_move(&b_id, t, Duration::from_secs(10))?;
    b.wait_sees_move(&a_id, t, Duration::from_secs(10))?;
    let dropped_before: Vec<f64> = workers
        .iter()
        .map(|w| sum(w.port, DROPPED))
        .collect::<Result<_>>()?;

    // The outage: Redis gone while both players keep moving.
    let down_at = Instant::now();
    redis.kill();
    let refused = wait_until(
        "/reserve to answer 503 while Redis is down",
        Duration::from_secs(5),
        || {
            let started = Instant::now();
            let r = reserve(mm.port, &json!({"track": "outage"})).ok()?;
            (r.status == 503).then(|| (r, started.elapsed()))
        },
    )?;
    let code = refused.0.json()?["error"]["code"].clone();
    assert_eq!(code, "redis_unavailable", "{}", refused.0.body);
    for (w, base) in workers.iter().zip(&dropped_before) {
        wait_until(
            &format!("{} to count messages it could not send", w.name),
            Duration::from_secs(10),
            || (sum(w.port, DROPPED).ok()? > *base).then_some(()),
        )?;
    }
    let readyz = send(mm.port, "GET", "/readyz", None)?;
    assert_eq!(readyz.status, 503, "matchmaker /readyz with Redis down");
    let outage = down_at.elapsed();

    // Redis returns, empty.
    redis.restart()?;
    let back_at = Instant::now();
    let mut registered = Vec::new();
    for i in 0..2u32 {
        let key = keys().shard(i);
        let at = wait_until(
            &format!("shard {i} to register again"),
            Duration::from_secs(10),
            || redis.exists(&key).ok()?.then(Instant::now),
        )?;
        registered.push(at - back_at);
    }
    let slowest = registered.iter().max().copied().unwrap_or_default();
    let reserved_again = wait_until(
        "/reserve to answer 200 again",
        Duration::from_secs(10),
        || (reserve(mm.port, &json!({"track": "after"})).ok()?.status == 200).then(Instant::now),
    )?;
    let after = Instant::now();
    a.wait_sees_move(&b_id, after, Duration::from_secs(10))?;
    b.wait_sees_move(&a_id, after, Duration::from_secs(10))?;
    let resynced = after.elapsed();
    let dropped: Vec<f64> = workers
        .iter()
        .zip(&dropped_before)
        .map(|(w, base)| Ok(sum(w.port, DROPPED)? - base))
        .collect::<Result<_>>()?;

    println!(
        "FIGURES redis-restart: outage {} ms; /reserve 503 redis_unavailable in {} ms during \
         it, /readyz 503; heartbeat keys back {:?} ms after Redis returned (interval \
         {HEARTBEAT_MS} ms); /reserve 200 again after {} ms; moves across workers seen \
         again {} ms later; {DROPPED} rose by {:?} on the two workers",
        ms(outage),
        ms(refused.1),
        registered.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        ms(reserved_again - back_at),
        ms(resynced),
        dropped,
    );
    assert!(
        slowest <= Duration::from_millis(HEARTBEAT_MS + 250),
        "a worker took {slowest:?} to register again (interval {HEARTBEAT_MS} ms)"
    );
    Ok(())
}
