//! A handoff between two processes of one shard, with the official Node socket.io-client:
//! the first, marked `replacing` as a rollout marks it, hands its rooms over on SIGTERM;
//! the second, started on the same address, takes them and its players resume there with
//! their ids, positions and room, and no seat is counted twice or lost.

mod common;

use common::{SECRET, spawn_node, start_worker};

use roomshard_protocol::Keys;
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::process::wait_until;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::Duration;

#[test]
fn a_replaced_worker_hands_its_rooms_to_the_next_process() {
    let redis = RedisServer::start().expect("redis");
    let env = || {
        vec![
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOMSHARD_TOKEN_SECRET", SECRET.into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
            ("RESUME_WINDOW_MS", "30000".into()),
            ("DRAIN_TIMEOUT_MS", "30000".into()),
        ]
    };
    let mut first = start_worker("handoff-first", &env()).expect("first worker");
    let port = first.port;
    let dir = roomshard_testkit::scratch_dir("handoff").expect("scratch");
    let ready = dir.join("ready");
    let script = spawn_node(
        "handoff.mjs",
        &[first.url(), ready.to_string_lossy().into_owned()],
    )
    .expect("node");
    wait_until("the players in place", Duration::from_secs(30), || {
        ready.exists().then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", first.logs()));

    // The operator's rollout mark, then the pod's SIGTERM.
    let keys = Keys::scoped(None, "default").expect("keys");
    redis
        .query(&["SADD", &keys.replacing(), "0"])
        .expect("mark replacing");
    first.child.signal("TERM").expect("SIGTERM");
    let status = first
        .child
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", first.logs()));
    assert!(status.success(), "{status:?}\n{}", first.logs());
    assert!(
        redis.exists(&keys.handoff(0)).expect("exists"),
        "no handoff record:\n{}",
        first.logs()
    );

    // The next process of the shard, on the same address.
    let second = common::start_worker_on("handoff-second", &env(), port).expect("second worker");
    let lines = script
        .finish(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", second.logs()));
    assert_eq!(check(&lines, "migrate_before_close"), true);
    let resumed = check(&lines, "resumed");
    let spots = [[100, 100], [110, 100], [100, 110]];
    for (i, r) in resumed.as_array().expect("three").iter().enumerate() {
        assert_eq!(r["ok"], true, "{resumed}\n{}", second.logs());
        assert_eq!(r["sameId"], true, "{r}");
        assert_eq!(r["sameRoom"], true, "{r}");
        assert_eq!(r["players"], 3, "{r}");
        let missed = r["missed"].as_array().expect("missed");
        assert!(
            missed.len() <= 2 && missed.iter().all(|e| e == "presence"),
            "only the others' return: {r}"
        );
        assert_eq!(r["at"], json!(spots[i]), "its position came along: {r}");
    }
    println!(
        "figure: handoff: longest time without a connection {} ms",
        check(&lines, "gap_ms")
    );
    assert_eq!(check(&lines, "live_after_handoff"), true);
    assert_eq!(check(&lines, "credential_single_use"), "resume_invalid");
    // Taken once, and the seats counted once: three players, none away.
    assert!(
        !redis.exists(&keys.handoff(0)).expect("exists"),
        "the record was taken"
    );
    let players = value(second.port, "roomshard_worker_players").unwrap_or(-1.0);
    assert_eq!(players, 3.0);
}
