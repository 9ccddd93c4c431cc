//! The official Node socket.io-client against the real worker, over WebSocket and over
//! HTTP long-polling: join, move, view, say, leave and the error paths.

mod common;

use common::{SECRET, run_node, start_worker};
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::redis::RedisServer;
use std::time::Duration;

fn interop(transport: &str) {
    let redis = RedisServer::start().expect("redis");
    // Reservations off (a dev run) but a secret set: a token, when given, is checked.
    let worker = start_worker(
        &format!("interop-{transport}"),
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOMSHARD_TOKEN_SECRET", SECRET.into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
        ],
    )
    .expect("worker");
    let lines = run_node(
        "interop.mjs",
        &[worker.url(), transport.into()],
        Duration::from_secs(40),
    )
    .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", worker.logs()));
    assert_eq!(check(&lines, "transport"), transport);
    assert_eq!(check(&lines, "move_before_join"), "not_joined");
    assert_eq!(check(&lines, "join_bad_payload"), "bad_request");
    assert_eq!(check(&lines, "join_bad_room_id"), "bad_request");
    assert_eq!(check(&lines, "join_bad_token"), "token_invalid");
    let ja = check(&lines, "join_a");
    assert_eq!(ja["ok"], true);
    assert_eq!(ja["players"], 1);
    assert_eq!(ja["radius"], 100.0);
    assert_eq!(check(&lines, "join_twice"), "already_joined");
    assert_eq!(check(&lines, "join_b")["players"], 2);
    assert_eq!(check(&lines, "presence_seen_by_a")["joined"], true);
    assert_eq!(check(&lines, "a_sees_b_move"), true);
    assert_eq!(check(&lines, "b_sees_a_move"), true);
    assert_eq!(check(&lines, "move_out_of_bounds"), "out_of_bounds");
    assert_eq!(check(&lines, "move_not_a_number"), "bad_request");
    assert_eq!(check(&lines, "move_null"), "bad_request");
    assert_eq!(check(&lines, "move_array"), "bad_request");
    assert_eq!(check(&lines, "say_too_long"), "too_large");
    assert_eq!(check(&lines, "say_empty"), "bad_request");
    assert_eq!(check(&lines, "unknown_event"), "bad_request");
    assert_eq!(check(&lines, "say_ack"), true);
    assert_eq!(check(&lines, "said_received"), "hello bob");
    assert_eq!(check(&lines, "leave_ack"), true);
    assert_eq!(check(&lines, "presence_left"), 1);
    assert_eq!(check(&lines, "view_left"), true);
    assert_eq!(check(&lines, "leave_again"), "not_joined");
    assert_eq!(check(&lines, "still_connected"), true);
    assert!(lines.iter().any(|l| l["done"] == true));
    // The worker counted what it saw.
    let moves = value(
        worker.port,
        "roomshard_worker_events_in_total{event=\"move\"}",
    )
    .ok();
    assert!(moves.unwrap_or(0.0) >= 6.0, "{moves:?}");
}

#[test]
fn node_client_over_websocket() {
    interop("websocket");
}

#[test]
fn node_client_over_polling() {
    interop("polling");
}

#[test]
fn solo_worker_without_redis_serves_rooms() {
    let worker = start_worker("interop-solo", &[]).expect("worker");
    let lines = run_node(
        "interop.mjs",
        &[worker.url(), "websocket".into()],
        Duration::from_secs(40),
    )
    .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", worker.logs()));
    // Without a secret a token cannot be checked, so the dev join ignores it.
    assert_eq!(check(&lines, "a_sees_b_move"), true);
    assert_eq!(check(&lines, "said_received"), "hello bob");
    assert_eq!(check(&lines, "presence_left"), 1);
}
