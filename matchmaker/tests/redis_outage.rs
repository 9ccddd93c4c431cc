//! Redis frozen, killed or restarted: a quick 503 within the deadline, never a hang, and
//! recovery when it is back.

mod common;

use common::{Matchmaker, beat_all};
use roomshard_protocol::records::Capacity;
use roomshard_testkit::process::wait_until_async;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::{Duration, Instant};

const DEADLINE_MS: u64 = 300;
const CAPACITY: Capacity = Capacity {
    rooms_per_shard: 100,
    players_per_room: 100,
};

async fn granted(mm: &Matchmaker) -> Option<()> {
    let (s, _) = mm.post_json("/reserve", &json!({})).await.ok()?;
    (s == 200).then_some(())
}

#[tokio::test]
async fn frozen_or_restarted_redis_is_a_quick_503_then_recovers() -> anyhow::Result<()> {
    let mut server = RedisServer::start()?;
    beat_all(server.port(), 2, CAPACITY)?;
    let mm = Matchmaker::start(
        &server.url(),
        &[("REDIS_TIMEOUT_MS", &DEADLINE_MS.to_string())],
    )
    .await?;
    assert!(granted(&mm).await.is_some());

    server.freeze()?;
    for path in ["/reserve", "/readyz", "/rooms"] {
        let started = Instant::now();
        let a = if path == "/reserve" {
            mm.send("POST", path, Some("application/json"), b"{}")
                .await?
        } else {
            mm.send("GET", path, None, b"").await?
        };
        let took = started.elapsed();
        assert_eq!(a.status, 503, "{path}: {}", a.body);
        assert_eq!(a.json()?["error"]["code"], "redis_unavailable", "{path}");
        assert!(
            took < Duration::from_millis(DEADLINE_MS * 3),
            "{path} took {took:?} with a {DEADLINE_MS} ms deadline"
        );
        let body = &a.body;
        assert!(
            !body.contains("redis://") && !body.contains("Timeout"),
            "{body}"
        );
    }
    let (s, _) = mm.get("/healthz").await?;
    assert_eq!(s, 200, "liveness does not depend on Redis");
    server.thaw()?;
    wait_until_async("reserve after thaw", Duration::from_secs(10), || {
        granted(&mm)
    })
    .await?;

    // Killed: still quick 503s.
    server.kill();
    let started = Instant::now();
    let a = mm
        .send("POST", "/reserve", Some("application/json"), b"{}")
        .await?;
    assert_eq!(a.status, 503);
    assert!(
        started.elapsed() < Duration::from_millis(DEADLINE_MS * 3),
        "{:?}",
        started.elapsed()
    );

    // Restarted empty: no shards until they beat again, then seats again.
    server.restart()?;
    wait_until_async("readyz after restart", Duration::from_secs(10), || async {
        let (s, _) = mm.get("/readyz").await.ok()?;
        (s == 200).then_some(())
    })
    .await?;
    let (s, body) = mm.post_json("/reserve", &json!({})).await?;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_capacity");
    beat_all(server.port(), 2, CAPACITY)?;
    wait_until_async("reserve after restart", Duration::from_secs(10), || {
        granted(&mm)
    })
    .await?;

    let metrics = mm.send("GET", "/metrics", None, b"").await?;
    let text = &metrics.body;
    assert!(
        text.contains("roomshard_matchmaker_redis_errors_total"),
        "{text}"
    );
    assert!(text.contains("outcome=\"redis_unavailable\""), "{text}");
    Ok(())
}
