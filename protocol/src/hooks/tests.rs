use super::*;
use serde_json::json;

#[test]
fn settings_parse_with_defaults_per_hook() {
    let h = parse_hooks(
        r#"{"onJoin":{"url":"http://backend:8080/join"},
            "onEvent":{"url":"https://backend/event","timeoutMs":250,"failure":"open",
                       "breaker":{"failures":3}}}"#,
    )
    .expect("valid");
    let join = h.get(HookName::OnJoin).expect("onJoin");
    assert_eq!(join.timeout_ms, DEFAULT_TIMEOUT_MS);
    assert_eq!(join.max_concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(join.failure_of(HookName::OnJoin), Failure::Closed);
    let event = h.get(HookName::OnEvent).expect("onEvent");
    assert_eq!(event.failure_of(HookName::OnEvent), Failure::Open);
    assert_eq!(event.breaker.failures, 3);
    assert_eq!(event.breaker.open_ms, DEFAULT_BREAKER_OPEN_MS);
    assert!(h.get(HookName::OnRoomClosed).is_none());
    assert!(parse_hooks(" ").expect("none").is_empty());
}

#[test]
fn bad_settings_say_what_is_wrong() {
    for (text, needle) in [
        (r#"{"onJoin":{"url":"ftp://x"}}"#, "http://"),
        (r#"{"onJoin":{"url":"http:///x"}}"#, "no host"),
        (
            r#"{"onJoin":{"url":"http://x","timeoutMs":0}}"#,
            "timeoutMs",
        ),
        (
            r#"{"onJoin":{"url":"http://x","maxConcurrency":0}}"#,
            "maxConcurrency",
        ),
        (
            r#"{"onJoin":{"url":"http://x","breaker":{"failures":0}}}"#,
            "breaker",
        ),
        (
            r#"{"onRoomClosed":{"url":"http://x","failure":"closed"}}"#,
            "\"open\"",
        ),
        (r#"{"onLeave":{"url":"http://x"}}"#, "JSON object"),
        (
            r#"{"onJoin":{"url":"http://x","failure":"maybe"}}"#,
            "JSON object",
        ),
    ] {
        let err = parse_hooks(text).expect_err(text);
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn join_answers_are_checked() {
    let ok = read_join_answer(
        br#"{"version":1,"metadata":{"rank":"gold"},"state":{"hp":100}}"#,
        256,
    )
    .expect("valid");
    assert_eq!(ok.state, Some(json!({"hp": 100})));
    let refused =
        read_join_answer(br#"{"version":1,"reject":{"code":"banned"}}"#, 256).expect("valid");
    assert_eq!(refused.reject.map(|r| r.code), Some("banned".into()));
    for bad in [
        &br#"not json"#[..],
        br#"{"version":2}"#,
        br#"{"version":1,"reject":{"code":"Bad Code"}}"#,
        br#"{"version":1,"metadata":[1]}"#,
        br#"{"version":1,"state":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        br#"{"version":1,"extra":true}"#,
    ] {
        assert!(
            read_join_answer(bad, 16).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn event_answers_are_checked() {
    let a = read_event_answer(
        br#"{"version":1,"reply":{"n":1},"emit":[
            {"event":"pong","scope":"room","data":1},
            {"event":"hit","scope":"player","to":"p1"}]}"#,
        1024,
    )
    .expect("valid");
    assert_eq!(a.emit.len(), 2);
    let many = json!({"version": 1, "emit": (0..=MAX_EMITS)
        .map(|_| json!({"event": "x", "scope": "room"})).collect::<Vec<_>>()});
    let many = serde_json::to_vec(&many).expect("json");
    for bad in [
        &br#"{"version":1,"emit":[{"event":"view","scope":"room"}]}"#[..],
        br#"{"version":1,"emit":[{"event":"x","scope":"server"}]}"#,
        br#"{"version":1,"emit":[{"event":"x","scope":"player"}]}"#,
        br#"{"version":1,"emit":[{"event":"x","scope":"room","to":"p1"}]}"#,
        br#"{"version":1,"emit":[{"event":"x","scope":"room","data":"xxxxxxxxxxxxxxxxxx"}]}"#,
        br#"{"version":1,"reply":"xxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        many.as_slice(),
        b"[]",
    ] {
        assert!(
            read_event_answer(bad, 16).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn requests_are_flat_and_versioned() {
    let r = RoomRequest {
        version: HOOK_VERSION,
        hook: HookName::OnRoomCreated.as_str().into(),
        origin: HookOrigin {
            set: "default".into(),
            shard: 0,
            room: "r1".into(),
            track: Some("ctf".into()),
        },
    };
    assert_eq!(
        serde_json::to_value(&r).expect("json"),
        json!({"version": 1, "hook": "onRoomCreated", "set": "default", "shard": 0,
               "room": "r1", "track": "ctf"})
    );
    assert!(signature(b"secret", b"{}").starts_with("sha256="));
    assert_eq!(signature(b"secret", b"{}").len(), 7 + 64);
}

/// The keys a schema in docs/hooks names: every required one, and every one allowed.
fn schema_keys(text: &str) -> (Vec<String>, Vec<String>) {
    let s: Value = serde_json::from_str(text).expect("a JSON schema");
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = match v {
            Value::Array(a) => a
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        n.sort();
        n
    };
    (names(&s["required"]), names(&s["properties"]))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn the_documented_schemas_name_what_the_types_send() {
    let player = HookPlayer {
        id: "p1".into(),
        name: "ann".into(),
        subject: Some("u1".into()),
        metadata: Some(json!({"rank": 1})),
    };
    let origin = |track: Option<&str>| HookOrigin {
        set: "default".into(),
        shard: 0,
        room: "r".into(),
        track: track.map(str::to_owned),
    };
    let join = JoinRequest {
        version: HOOK_VERSION,
        hook: "onJoin".into(),
        origin: origin(None),
        player: player.clone(),
    };
    let event = EventRequest {
        version: HOOK_VERSION,
        hook: "onEvent".into(),
        origin: origin(Some("t")),
        event: "tag".into(),
        player,
        data: json!({}),
    };
    let room = RoomRequest {
        version: HOOK_VERSION,
        hook: "onRoomClosed".into(),
        origin: origin(Some("t")),
    };
    for (text, sent) in [
        (
            include_str!("../../../docs/hooks/on-join.request.schema.json"),
            serde_json::to_value(&join),
        ),
        (
            include_str!("../../../docs/hooks/on-event.request.schema.json"),
            serde_json::to_value(&event),
        ),
        (
            include_str!("../../../docs/hooks/on-room.request.schema.json"),
            serde_json::to_value(&room),
        ),
    ] {
        let sent = keys(&sent.expect("json"));
        let (required, allowed) = schema_keys(text);
        assert!(
            required.iter().all(|k| sent.contains(k)),
            "{required:?} / {sent:?}"
        );
        assert!(
            sent.iter().all(|k| allowed.contains(k)),
            "{allowed:?} / {sent:?}"
        );
    }
    for (text, answer) in [
        (
            include_str!("../../../docs/hooks/on-join.response.schema.json"),
            json!({"version": 1, "reject": {"code": "x", "message": ""}, "metadata": {}, "state": 1}),
        ),
        (
            include_str!("../../../docs/hooks/on-event.response.schema.json"),
            json!({"version": 1, "reject": {"code": "x", "message": ""}, "reply": 1, "emit": []}),
        ),
    ] {
        let (_, allowed) = schema_keys(text);
        assert_eq!(allowed, keys(&answer));
    }
    let join_answer = include_str!("../../../docs/hooks/on-join.response.schema.json");
    assert!(read_join_answer(br#"{"version":1,"metadata":{},"state":1}"#, 16).is_ok());
    assert!(join_answer.contains("\"version\""));
}
