//! Start-up checks and graceful shutdown of the real binary.

mod common;

use common::{Matchmaker, SECRET};
use roomshard_testkit::redis::RedisServer;
use std::process::Command;
use std::time::Duration;

fn run_with(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let binary = roomshard_testkit::bins::binary("roomshard-matchmaker").expect("the binary");
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("BIND", "127.0.0.1")
        .env("PORT", "0")
        .env("REDIS_URL", "redis://127.0.0.1:1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_exits_nonzero_naming_the_variable() {
    let (code, err) = run_with(&[("ROOMSHARD_TOKEN_SECRET", "short")]);
    assert_ne!(code, Some(0));
    assert!(err.contains("ROOMSHARD_TOKEN_SECRET"), "{err}");

    let (code, err) = run_with(&[
        ("ROOMSHARD_TOKEN_SECRET", SECRET),
        ("ROOMSHARD_SET", "Bad}Set"),
    ]);
    assert_ne!(code, Some(0));
    assert!(err.contains("ROOMSHARD_SET"), "{err}");

    let (code, err) = run_with(&[]);
    assert_ne!(code, Some(0));
    assert!(err.to_lowercase().contains("token"), "{err}");

    let (code, err) = run_with(&[
        ("ROOMSHARD_TOKEN_SECRET", SECRET),
        ("RESERVATION_TTL_MS", "-5"),
    ]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("reservation-ttl-ms") || err.contains("RESERVATION_TTL_MS"),
        "{err}"
    );
}

#[tokio::test]
async fn sigterm_stops_gracefully() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let mut mm = Matchmaker::start(&server.url(), &[]).await?;
    mm.child().signal("TERM")?;
    let status = mm.child().wait_exit(Duration::from_secs(10))?;
    assert!(status.success(), "{status:?}");
    Ok(())
}

#[tokio::test]
async fn shard_gauges_follow_heartbeats_without_requests() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let mm = Matchmaker::start(&server.url(), &[("HEARTBEAT_INTERVAL_MS", "200")]).await?;
    let capacity = roomshard_protocol::records::Capacity::default();
    common::beat(server.port(), &common::heartbeat(0, 2, capacity), 60_000)?;
    common::beat(server.port(), &common::heartbeat(1, 2, capacity), 60_000)?;
    roomshard_testkit::process::wait_until_async(
        "roomshard_matchmaker_healthy_shards 2",
        Duration::from_secs(10),
        || async {
            let a = mm.send("GET", "/metrics", None, b"").await.ok()?;
            a.body
                .lines()
                .any(|l| l == "roomshard_matchmaker_healthy_shards 2")
                .then_some(())
        },
    )
    .await
}
