//! Interest management with a crowd of real clients, and the worker's limits under abuse
//! (oversized messages on both transports, event floods), with memory kept bounded.

mod common;

use common::{run_node, start_worker};
use roomshard_testkit::metrics::{sum, value};
use roomshard_testkit::redis::RedisServer;
use std::time::Duration;

/// Grid cells per radius, as the worker runs by default.
const CELLS: i32 = 2;

#[test]
fn two_hundred_players_receive_only_their_area_of_interest() {
    let redis = RedisServer::start().expect("redis");
    let worker = start_worker(
        "crowd",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOM_CAPACITY", "250".into()),
            ("AOI_RADIUS", "100".into()),
            ("AOI_CELLS", CELLS.to_string()),
        ],
    )
    .expect("worker");
    let lines = run_node(
        "crowd.mjs",
        &[
            worker.url(),
            "crowd".into(),
            "200".into(),
            "30".into(),
            "100".into(),
            CELLS.to_string(),
        ],
        Duration::from_secs(150),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}\nview batches dropped: {:?}\n{}",
            value(worker.port, "roomshard_worker_view_dropped_total").ok(),
            worker.logs()
        )
    });
    let s = lines
        .iter()
        .find(|l| l.get("clients").is_some())
        .expect("summary");
    println!("crowd summary: {s}");
    assert_eq!(s["clients"], 200);
    assert!(s["checked"].as_u64().unwrap_or(0) > 1000, "{s}");
    assert_eq!(
        s["violations"], 0,
        "entities outside the area of interest: {s}"
    );
    assert_eq!(s["outside"], 0, "{s}");
    assert_eq!(
        s["missing"], 0,
        "players within the radius not in view: {s}"
    );
    assert_eq!(s["stale"], 0, "{s}");
    assert_eq!(s["anomalies"], 0, "{s}");
    // Nothing in view is farther than the far corner of the neighbourhood.
    let max_ratio = s["maxDistanceOverRadius"].as_f64().unwrap_or(f64::MAX);
    let corner = f64::from(CELLS + 1) / f64::from(CELLS) * 2f64.sqrt();
    assert!(max_ratio <= corner + 1e-6, "{s}");
    let ratio = s["naiveOverActual"].as_f64().unwrap_or(0.0);
    println!(
        "bytes per client: {} received vs {} for a room-wide broadcast (x{ratio:.1})",
        s["bytesMeanPerClient"], s["naiveBytesPerClient"]
    );
    assert!(
        ratio > 3.0,
        "interest management should cut traffic well below a broadcast: {s}"
    );
}

#[test]
fn oversized_messages_close_only_their_socket_on_both_transports() {
    let worker =
        start_worker("oversize", &[("MAX_MESSAGE_BYTES", "16384".into())]).expect("worker");
    for mode in ["oversize-ws", "oversize-polling"] {
        let lines = run_node(
            "abuse.mjs",
            &[worker.url(), mode.into(), "40000".into()],
            Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("{mode}: {e}\n{}", worker.logs()));
        let s = &lines[0];
        assert_eq!(
            s["reasons"].as_array().map(Vec::len),
            Some(1),
            "{mode}: {s}"
        );
        assert_eq!(s["bystanderConnected"], true, "{mode}: {s}");
        assert_eq!(s["bystanderSay"], true, "{mode}: {s}");
    }
    // Big messages over WebSocket are refused from the frame header: memory stays flat.
    let before = worker.rss_kib().expect("rss");
    let lines = run_node(
        "abuse.mjs",
        &[
            worker.url(),
            "oversize-ws".into(),
            (4 * 1024 * 1024).to_string(),
            "10".into(),
        ],
        Duration::from_secs(60),
    )
    .expect("node");
    assert_eq!(lines[0]["reasons"].as_array().map(Vec::len), Some(10));
    let after = worker.rss_kib().expect("rss");
    println!("RSS before {before} KiB, after ten 4 MiB messages {after} KiB");
    assert!(
        after < before + 20 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    // The process is still serving.
    assert_eq!(
        roomshard_testkit::http::get(worker.port, "/healthz")
            .map(|r| r.status)
            .ok(),
        Some(200)
    );
}

#[test]
fn event_floods_are_rate_limited_then_disconnected() {
    let worker = start_worker("flood", &[]).expect("worker");
    let lines = run_node(
        "abuse.mjs",
        &[worker.url(), "flood".into(), "0".into()],
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    let s = &lines[0];
    assert_eq!(s["rateLimited"], true, "{s}");
    assert_eq!(s["reasons"][0], "io server disconnect", "{s}");
    assert_eq!(s["bystanderConnected"], true, "{s}");
    assert_eq!(s["bystanderSay"], true, "{s}");
    let forced = sum(worker.port, "roomshard_worker_forced_disconnects_total").ok();
    assert_eq!(forced, Some(1.0));
}
