//! Server hooks against a real HTTP server the test starts (a stand-in for the game's
//! backend), with the official client, two workers and a real Redis: onJoin refusing and
//! attaching, onEvent emitting and refusing, room notifications, and every way a hook can
//! fail (late, an error status, garbage, down, its breaker open) in both failure modes.

mod common;

use common::{run_node, start_worker};
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::process::{free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::stub_http::{StubReply, StubServer};
use serde_json::{Value, json};
use std::time::Duration;

const EVENTS: &str = r#"[
  {"name": "act", "scope": "server", "maxBytes": 256},
  {"name": "pong", "scope": "room"},
  {"name": "hint", "scope": "player"}
]"#;

/// How long the stub takes to answer a slow request: past every deadline below.
const SLOW: Duration = Duration::from_secs(2);

/// The game's backend: `onJoin` answers by the player's name, `onEvent` by the event's
/// `kind`; the room notifications get an empty 204.
fn backend(path: &str, body: &Value) -> StubReply {
    let ok = |v: Value| StubReply::json(v);
    match path {
        "/join" => match body["player"]["name"].as_str().unwrap_or_default() {
            "banned" => {
                ok(json!({"version": 1, "reject": {"code": "banned", "message": "not today"}}))
            }
            "slow" => ok(json!({"version": 1})).after(SLOW),
            "garbage" => StubReply::status(200, "{not json"),
            "boom" => StubReply::status(500, "oops"),
            n if n.starts_with("vip") => ok(json!({"version": 1,
                "metadata": {"rank": "gold"}, "state": {"hp": 100}})),
            _ => ok(json!({"version": 1})),
        },
        "/event" => {
            let data = &body["data"];
            match data["kind"].as_str().unwrap_or_default() {
                "room" => ok(json!({"version": 1, "reply": {"got": data["n"]},
                    "emit": [{"event": "pong", "scope": "room", "data": {"n": data["n"]}}]})),
                "player" => ok(json!({"version": 1, "emit": [
                    {"event": "hint", "scope": "player", "to": data["to"], "data": {"secret": 1}}]})),
                "reject" => ok(json!({"version": 1, "reject": {"code": "not_your_turn"}})),
                "slow" => ok(json!({"version": 1})).after(SLOW),
                "garbage" => StubReply::status(200, "{{{"),
                "boom" => StubReply::status(503, "down for maintenance"),
                "undeclared" => {
                    ok(json!({"version": 1, "emit": [{"event": "nope", "scope": "room"}]}))
                }
                "oversized" => ok(json!({"version": 1,
                    "emit": [{"event": "pong", "scope": "room", "data": "x".repeat(20_000)}]})),
                _ => ok(json!({"version": 1})),
            }
        }
        "/fail-c" | "/fail-e" => StubReply::status(500, "always failing"),
        _ => StubReply::status(204, ""),
    }
}

/// A refusal `hook_failed` whose message names `outcome`.
fn assert_failed(outcome: &str, got: &Value) {
    assert_eq!(got["code"], "hook_failed", "{got}");
    let message = got["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("({outcome})")),
        "{outcome}: {got}"
    );
}

fn hooks(stub: &StubServer) -> String {
    json!({
        "onJoin": {"url": stub.url("/join"), "timeoutMs": 300},
        "onEvent": {"url": stub.url("/event"), "timeoutMs": 300, "breaker": {"failures": 20}},
        "onRoomCreated": {"url": stub.url("/created")},
        "onRoomClosed": {"url": stub.url("/closed")}
    })
    .to_string()
}

#[test]
fn hooks_refuse_attach_emit_and_fail_without_harming_others() {
    let stub = StubServer::start(backend).expect("hook server");
    let redis = RedisServer::start().expect("redis");
    let start = |i: u32| {
        let envs = [
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", format!("{i}/2")),
            ("EVENTS", EVENTS.into()),
            ("HOOKS", hooks(&stub)),
            ("HOOK_SECRET", "hook-secret-0123456789".into()),
            ("ROOM_EMPTY_GRACE_MS", "200".into()),
        ];
        start_worker(&format!("hooks-{i}"), &envs).expect("worker")
    };
    let (a, b) = (start(0), start(1));
    let lines = run_node(
        "hooks.mjs",
        &[a.url(), b.url(), "hooked".into()],
        Duration::from_secs(70),
    )
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    assert_eq!(
        check(&lines, "join_refused_with_a_code"),
        &json!({"code": "hook_rejected", "reason": "banned", "message": "not today"})
    );
    assert_eq!(
        check(&lines, "join_with_metadata_and_initial_state"),
        &json!({"metadata": {"rank": "gold"}, "stateAtB1": {"hp": 100}, "b1Metadata": null})
    );
    assert_eq!(
        check(&lines, "event_reply_emits_room_wide_across_workers"),
        &json!({"ack": {"ok": true, "data": {"got": 7}}, "from": "server", "seqIsNumber": true})
    );
    let player = check(&lines, "event_reply_emits_to_a_player");
    assert_eq!(player["ack"], true);
    assert_eq!(player["hint"]["data"], json!({"secret": 1}));
    assert_eq!(player["hint"]["from"], "server");
    assert_eq!(player["vipHints"], 0);
    assert_eq!(
        check(&lines, "event_rejection_goes_to_the_sender"),
        &json!({"code": "hook_rejected", "reason": "not_your_turn"})
    );
    let slow = check(&lines, "slow_hook_misses_its_deadline_and_harms_no_one");
    assert_failed(
        "timeout",
        &json!({"code": slow["slow"]["code"], "message": slow["message"]}),
    );
    assert_eq!(slow["other"], true, "{slow}");
    assert_eq!(slow["otherFast"], true, "{slow}");
    assert_eq!(slow["slowMs"], true, "{slow}");
    assert_failed("garbage", check(&lines, "event_garbage"));
    assert_failed("status", check(&lines, "event_boom"));
    assert_failed("garbage", check(&lines, "event_undeclared"));
    assert_failed("garbage", check(&lines, "event_oversized"));
    assert_eq!(check(&lines, "binary_server_event")["code"], "bad_request");
    assert_failed("timeout", check(&lines, "join_slow"));
    assert_failed("garbage", check(&lines, "join_garbage"));
    assert_failed("status", check(&lines, "join_boom"));
    assert_eq!(check(&lines, "others_unharmed"), true);
    assert!(lines.iter().any(|l| l["done"] == true));

    // The room was created once and, left empty, closed once, whichever worker saw it.
    wait_until("onRoomClosed", Duration::from_secs(10), || {
        (!stub.calls("/closed").is_empty()).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    let created = stub.calls("/created");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["hook"], "onRoomCreated");
    assert_eq!(created[0]["room"], "hooked");
    assert_eq!(created[0]["version"], 1);
    let closed = stub.calls("/closed");
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0]["track"], "default");
    // onEvent carries the player with what onJoin attached.
    let events = stub.calls("/event");
    let first = events.first().expect("an onEvent call");
    assert_eq!(first["player"]["metadata"], json!({"rank": "gold"}));
    assert_eq!(first["event"], "act");
    for (hook, outcome, at_least) in [
        ("onEvent", "ok", 4.0),
        ("onEvent", "timeout", 1.0),
        ("onEvent", "garbage", 2.0),
        ("onJoin", "status", 1.0),
    ] {
        let series =
            format!(r#"roomshard_worker_hook_calls_total{{hook="{hook}",outcome="{outcome}"}}"#);
        let n = value(a.port, &series).unwrap_or(0.0) + value(b.port, &series).unwrap_or(0.0);
        assert!(n >= at_least, "{series} = {n}");
    }
}

#[test]
fn failing_hooks_follow_their_failure_mode_and_breaker() {
    let stub = StubServer::start(backend).expect("hook server");
    let down = format!("http://127.0.0.1:{}/join", free_port().expect("port"));
    let worker = |label: &str, hooks: Value| {
        let envs = [("EVENTS", EVENTS.into()), ("HOOKS", hooks.to_string())];
        start_worker(label, &envs).expect("worker")
    };
    let c = worker(
        "hooks-c",
        json!({"onJoin": {"url": down, "failure": "open"},
               "onEvent": {"url": stub.url("/fail-c"), "breaker": {"failures": 3, "openMs": 60000}}}),
    );
    let d = worker(
        "hooks-d",
        json!({"onJoin": {"url": down}, "onEvent": {"url": stub.url("/event")}}),
    );
    let e = worker(
        "hooks-e",
        json!({"onEvent": {"url": stub.url("/fail-e"), "failure": "open"}}),
    );
    let lines = run_node(
        "hooks-failure.mjs",
        &[c.url(), d.url(), e.url(), "failing".into()],
        Duration::from_secs(50),
    )
    .unwrap_or_else(|err| panic!("{err}\nC:\n{}\nD:\n{}", c.logs(), d.logs()));
    assert_eq!(check(&lines, "down_join_hook_fails_open"), "accepted");
    assert_eq!(
        check(&lines, "failing_event_hook_opens_its_breaker"),
        &json!([
            "hook_failed status",
            "hook_failed status",
            "hook_failed status",
            "hook_failed breaker_open",
            "hook_failed breaker_open"
        ])
    );
    assert_eq!(
        check(&lines, "down_join_hook_fails_closed"),
        "hook_failed unreachable"
    );
    assert_eq!(check(&lines, "failing_event_hook_fails_open"), "accepted");
    assert!(lines.iter().any(|l| l["done"] == true));
    // The open breaker kept the last two calls from the backend.
    assert_eq!(stub.calls("/fail-c").len(), 3);
    assert_eq!(stub.calls("/fail-e").len(), 1);
    let series = |hook: &str, outcome: &str| {
        format!(r#"roomshard_worker_hook_calls_total{{hook="{hook}",outcome="{outcome}"}}"#)
    };
    assert_eq!(
        value(c.port, &series("onEvent", "breaker_open")).ok(),
        Some(2.0)
    );
    assert_eq!(
        value(c.port, &series("onJoin", "unreachable")).ok(),
        Some(1.0)
    );
    assert_eq!(
        value(
            c.port,
            r#"roomshard_worker_hook_breaker_open{hook="onEvent"}"#
        )
        .ok(),
        Some(1.0)
    );
    assert_eq!(
        value(d.port, &series("onJoin", "unreachable")).ok(),
        Some(1.0)
    );
}
