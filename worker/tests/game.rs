//! What a game adds to the protocol, with the official client, two workers and a real
//! Redis: custom events of every scope, refusals of bad declarations at start, and private
//! rooms closed to joins without a reservation.

mod common;

use common::{run_node, start_worker, worker_command};
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::process::Proc;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::Duration;

const EVENTS: &str = r#"[
  {"name": "shout", "scope": "room", "maxBytes": 256},
  {"name": "shoot", "scope": "nearby", "maxBytes": 64},
  {"name": "whisper", "scope": "player"},
  {"name": "tiny", "scope": "room", "maxBytes": 16, "perSecond": 2}
]"#;

/// Two workers of one set, shards 0 and 1 of 2, with `extra` settings.
fn pair(redis: &RedisServer, label: &str, extra: &[(&str, String)]) -> (Proc, Proc) {
    let start = |i: u32| {
        let mut envs = vec![
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", format!("{i}/2")),
            ("AOI_RADIUS", "100".into()),
            ("AOI_CELLS", "2".into()),
        ];
        envs.extend_from_slice(extra);
        start_worker(&format!("{label}-{i}"), &envs).expect("worker")
    };
    (start(0), start(1))
}

#[test]
fn custom_events_reach_whom_their_scope_names_on_both_workers() {
    let redis = RedisServer::start().expect("redis");
    let (a, b) = pair(&redis, "custom", &[("EVENTS", EVENTS.into())]);
    let lines = run_node(
        "custom.mjs",
        &[a.url(), b.url(), "arena".into()],
        Duration::from_secs(70),
    )
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    assert_eq!(check(&lines, "custom_before_join"), "not_joined");
    assert_eq!(
        check(&lines, "views_settle"),
        &json!({"a2SeesA1": false, "b2SeesA1": false})
    );
    let room = check(&lines, "room_crosses_workers");
    assert_eq!(room["ack"], true);
    assert_eq!(room["from"], true);
    assert_eq!(room["data"], json!({"text": "hello room", "n": [1, 2]}));
    assert_eq!(room["seqIsNumber"], true);
    assert_eq!(
        check(&lines, "nearby_reaches_exactly_those_who_see_the_sender"),
        &json!({"fromA1": ["a1", "b1"], "fromB1": ["a1", "b1"], "from": true, "seq": false})
    );
    assert_eq!(
        check(&lines, "player_crosses_workers"),
        &json!({"acks": [true, true], "toB1": ["b1"], "toA2": ["a2"], "from": true})
    );
    assert_eq!(
        check(&lines, "binary_payloads_are_relayed"),
        &json!({"shout": [1, 2, 3], "whisper": [9, 8], "shoot": [7]})
    );
    assert_eq!(check(&lines, "undeclared_event"), "bad_request");
    assert_eq!(check(&lines, "too_large"), "too_large");
    assert_eq!(check(&lines, "too_large_binary"), "too_large");
    let codes = check(&lines, "too_frequent");
    assert_eq!(codes[0], "accepted", "{codes}");
    assert_eq!(codes[1], "accepted", "{codes}");
    assert_eq!(codes[4], "rate_limited", "{codes}");
    assert_eq!(check(&lines, "not_in_room"), "not_in_room");
    assert_eq!(check(&lines, "not_in_room_other_room"), "not_in_room");
    assert_eq!(check(&lines, "player_event_without_to"), "bad_request");
    assert_eq!(check(&lines, "two_payloads"), "bad_request");
    assert_eq!(check(&lines, "refusal_without_ack"), "not_in_room");
    assert_eq!(check(&lines, "others_unharmed"), true);
    let resumed = check(&lines, "resume_replays_custom_room_events");
    assert_eq!(resumed["ok"], true, "{resumed}");
    assert_eq!(resumed["texts"], json!(["while away 1", "while away 2"]));
    assert_eq!(resumed["from"], true);
    assert_eq!(resumed["seqs"], true);
    assert_eq!(resumed["blob"], json!([5, 5]));
    assert!(lines.iter().any(|l| l["done"] == true));
    // Counted per declared name; an undeclared name is no label of its own.
    let relayed = value(
        a.port,
        r#"roomshard_worker_custom_events_total{event="shout",outcome="relayed"}"#,
    )
    .ok();
    assert!(relayed.unwrap_or(0.0) >= 3.0, "{relayed:?}");
    let refused = value(
        b.port,
        r#"roomshard_worker_custom_events_total{event="tiny",outcome="rate_limited"}"#,
    )
    .ok();
    assert!(refused.unwrap_or(0.0) >= 1.0, "{refused:?}");
    let metrics = roomshard_testkit::http::get(a.port, "/metrics").expect("metrics");
    assert!(!metrics.body.contains("\"fly\""), "{}", metrics.body);
    assert!(
        metrics
            .body
            .contains(r#"roomshard_worker_events_in_total{event="unknown"}"#)
    );
}

#[test]
fn bad_event_declarations_stop_the_worker_with_a_clear_message() {
    for (events, needle) in [
        (r#"[{"name":"move","scope":"room"}]"#, "built-in"),
        (r#"[{"name":"ping","scope":"server"}]"#, "no onEvent hook"),
        (
            r#"[{"name":"x","scope":"room"},{"name":"x","scope":"room"}]"#,
            "twice",
        ),
        (
            r#"[{"name":"x","scope":"room","maxBytes":65536}]"#,
            "MAX_MESSAGE_BYTES",
        ),
        (r#"{"name":"x"}"#, "JSON array"),
    ] {
        let out = worker_command(&[("EVENTS", events.into()), ("PORT", "0".into())])
            .expect("worker binary")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{events} was accepted");
        assert!(stderr.contains("EVENTS is invalid"), "{events}: {stderr}");
        assert!(stderr.contains(needle), "{events}: {stderr}");
    }
}

#[test]
fn entity_state_reaches_only_those_who_see_it_and_only_when_it_changes() {
    const MAX_STATE: usize = 64;
    let redis = RedisServer::start().expect("redis");
    let (a, b) = pair(
        &redis,
        "state",
        &[("MAX_STATE_BYTES", MAX_STATE.to_string())],
    );
    let lines = run_node(
        "state.mjs",
        &[a.url(), b.url(), "stately".into(), MAX_STATE.to_string()],
        Duration::from_secs(70),
    )
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    let hurt = json!({"hp": 9, "team": "red"});
    assert_eq!(check(&lines, "state_before_join"), "not_joined");
    assert_eq!(check(&lines, "views_settle"), true);
    assert_eq!(
        check(&lines, "state_event_crosses_workers"),
        &json!({"ack": true, "atB1": {"hp": 10, "team": "red"}})
    );
    assert_eq!(
        check(&lines, "unchanged_state_is_not_sent_again"),
        &json!({"hasState": false})
    );
    assert_eq!(check(&lines, "state_rides_with_a_move"), &hurt);
    assert_eq!(check(&lines, "a_move_without_state_keeps_it"), &hurt);
    assert_eq!(check(&lines, "oversized_state"), "too_large");
    assert_eq!(check(&lines, "oversized_state_on_a_move"), "too_large");
    assert_eq!(check(&lines, "state_without_state"), "bad_request");
    assert_eq!(
        check(&lines, "bad_inputs_changed_nothing"),
        &json!({"a1AtB1": [103, hurt]})
    );
    assert_eq!(check(&lines, "cleared"), &serde_json::Value::Null);
    // b1 was sent each change once: set, hurt, cleared, set again.
    assert_eq!(
        check(&lines, "only_receivers_in_range"),
        &json!({"b1": [{"hp": 10, "team": "red"}, hurt, null, {"hp": 8}], "a2": 0, "b2": 0})
    );
    assert_eq!(
        check(&lines, "on_enter"),
        &json!({"kind": "entered", "state": {"hp": 8}})
    );
    assert_eq!(
        check(&lines, "resume_view_has_states"),
        &json!({"ok": true, "state": {"hp": 8}})
    );
    assert!(lines.iter().any(|l| l["done"] == true));
}

#[test]
fn a_private_room_takes_no_join_without_a_reservation() {
    let redis = RedisServer::start().expect("redis");
    let worker = start_worker(
        "private",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
        ],
    )
    .expect("worker");
    // A room as a reservation with metadata opens it (docs/REDIS.md, "Metadata").
    let keys = roomshard_protocol::Keys::new("default").expect("keys");
    for (room, private, index) in [
        ("hidden", "1", "default~private"),
        ("open", "0", "default~0123456789abcdef0123456789abcdef"),
    ] {
        redis
            .query(&[
                "HSET",
                &keys.room(room),
                "schema",
                "2",
                "shard",
                "0",
                "track",
                "default",
                "capacity",
                "4",
                "players",
                "0",
                "version",
                "1",
                "index",
                index,
                "private",
                private,
            ])
            .expect("hset");
    }
    let lines = run_node(
        "join.mjs",
        &[
            worker.url(),
            json!([{"room": "hidden"}, {"room": "open"}]).to_string(),
        ],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", worker.logs()));
    let acks: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("ack")).collect();
    assert_eq!(acks[0]["error"]["code"], "token_required", "{acks:?}");
    assert_eq!(acks[1]["ok"], true, "{acks:?}");
    // The open room's seats went to its own placement index, not the track's.
    let index = keys.track_index("default~0123456789abcdef0123456789abcdef");
    let free = redis
        .query(&["ZSCORE", &index.free, "open"])
        .expect("zscore");
    assert_eq!(free.as_int(), Some(3), "{free:?}");
    let plain = redis
        .query(&["ZSCORE", &keys.track_index("default").free, "open"])
        .expect("zscore");
    assert!(plain.is_nil(), "{plain:?}");
}
