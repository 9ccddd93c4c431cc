//! Session resume with the official Node socket.io-client against the real worker, over
//! WebSocket and over HTTP long-polling: a player whose connection is cut comes back
//! within the window with its id, its room and every room event it missed, once and in
//! order; after the window it is refused and the room saw it leave.

mod common;

use common::{SECRET, run_node, start_worker};
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::Duration;

/// Runs `resume.mjs` in `mode` against a worker on Redis whose resume window is
/// `window_ms`, with pings fast enough that a cut polling connection is noticed soon.
fn resume(transport: &str, mode: &str, window_ms: u32) -> Vec<serde_json::Value> {
    let redis = RedisServer::start().expect("redis");
    let worker = start_worker(
        &format!("resume-{transport}-{mode}"),
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOMSHARD_TOKEN_SECRET", SECRET.into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
            ("RESUME_WINDOW_MS", window_ms.to_string()),
            ("PING_INTERVAL_MS", "300".into()),
            ("PING_TIMEOUT_MS", "300".into()),
        ],
    )
    .expect("worker");
    let lines = run_node(
        "resume.mjs",
        &[worker.url(), transport.into(), mode.into()],
        Duration::from_secs(45),
    )
    .unwrap_or_else(|e| panic!("{e}\nworker log:\n{}", worker.logs()));
    let outcome = if mode == "within" {
        "ok"
    } else {
        "resume_expired"
    };
    let counted = value(
        worker.port,
        &format!("roomshard_worker_resumes_total{{outcome=\"{outcome}\"}}"),
    )
    .unwrap_or(0.0);
    assert!(counted >= 1.0, "resumes counted as {outcome}: {counted}");
    lines
}

fn within(transport: &str) {
    let lines = resume(transport, "within", 20_000);
    let join = check(&lines, "join");
    assert_eq!(join["ok"], true);
    assert_eq!(join["credential"], "string");
    assert_eq!(join["sessionIdIsNotPlayerId"], true);
    let away = check(&lines, "others_see_away");
    assert_eq!(away["left"], false, "away, not gone: {away}");
    assert_eq!(away["players"], 2, "the seat is kept");
    let resumed = check(&lines, "resumed");
    assert_eq!(
        *resumed,
        json!({"ok": true, "sameId": true, "room": resumed["room"], "newCredential": true})
    );
    let missed = check(&lines, "missed_once_in_order");
    assert_eq!(missed["consecutive"], true, "{missed}");
    assert_eq!(missed["upToAck"], true, "{missed}");
    assert_eq!(missed["said"], json!(["one", "two", "three"]));
    assert_eq!(
        missed["carol"], true,
        "carol's join and leave were replayed"
    );
    assert_eq!(check(&lines, "view_is_fresh"), true);
    assert_eq!(check(&lines, "live_after_resume"), true);
    assert_eq!(
        *check(&lines, "others_never_saw_leave"),
        json!({"left": false, "back": true})
    );
    assert_eq!(check(&lines, "credential_single_use"), "resume_invalid");
    assert_eq!(check(&lines, "moves_after_resume"), true);
}

fn expired(transport: &str) {
    let lines = resume(transport, "expired", 1_500);
    assert_eq!(check(&lines, "others_see_away")["left"], false);
    assert_eq!(check(&lines, "others_see_leave_after_window"), 1);
    assert_eq!(check(&lines, "resume_refused"), "resume_expired");
}

#[test]
fn a_cut_websocket_player_resumes_within_the_window() {
    within("websocket");
}

#[test]
fn a_cut_polling_player_resumes_within_the_window() {
    within("polling");
}

#[test]
fn a_websocket_player_back_after_the_window_is_refused_and_left() {
    expired("websocket");
}

#[test]
fn a_polling_player_back_after_the_window_is_refused_and_left() {
    expired("polling");
}

#[test]
fn hostile_resumes_never_take_a_session() {
    let redis = RedisServer::start().expect("redis");
    let envs = |shard: &str| {
        vec![
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", shard.to_owned()),
            ("ROOMSHARD_TOKEN_SECRET", SECRET.into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
        ]
    };
    let a = start_worker("attacks-a", &envs("0/2")).expect("a");
    let b = start_worker("attacks-b", &envs("1/2")).expect("b");
    let lines = run_node(
        "resume-attacks.mjs",
        &[a.url(), b.url()],
        Duration::from_secs(45),
    )
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    let poll = check(&lines, "sid_poll_get");
    assert_eq!(poll["status"], 400, "{poll}");
    assert_eq!(poll["leaks"], false);
    assert_eq!(check(&lines, "sid_poll_post"), 400);
    assert_eq!(check(&lines, "sid_ws_upgrade"), 400);
    assert_eq!(check(&lines, "spoofed_chat_never_spoken"), false);
    for name in [
        "forged_random",
        "tampered_signature",
        "claims_swapped_for_another_player",
        "last_seq_never_sent",
    ] {
        assert_eq!(check(&lines, name), "resume_invalid", "{name}");
    }
    assert_eq!(check(&lines, "reservation_shaped_garbage"), "bad_request");
    assert_eq!(check(&lines, "another_shard"), "shard_changed");
    assert_eq!(check(&lines, "victim_still_playing"), true);
    assert_eq!(
        *check(&lines, "takeover"),
        json!({"ok": true, "sameId": true, "oldClosed": true})
    );
    assert_eq!(*check(&lines, "race"), json!(["resume_invalid", "resumed"]));
    assert_eq!(check(&lines, "race_loser_has_no_player"), "not_joined");
    assert_eq!(check(&lines, "race_winner_plays"), true);
    assert_eq!(check(&lines, "nobody_saw_a_leave"), 0);

    // The shard restarts: what the credential named is gone with the old process, and
    // the resume is refused cleanly.
    let held = check(&lines, "held").clone();
    drop(a);
    let restarted = start_worker("attacks-a-again", &envs("0/2")).expect("restarted");
    let again = run_node(
        "resume-once.mjs",
        &[
            restarted.url(),
            held["credential"].as_str().expect("credential").to_owned(),
            held["lastSeq"].to_string(),
        ],
        Duration::from_secs(20),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", restarted.logs()));
    assert_eq!(check(&again, "resume"), "resume_expired");
}
