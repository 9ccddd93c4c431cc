//! The load generator against a real set: Redis, a matchmaker and three worker shards.
//! Every simulated player reserves a seat, joins the shard it was sent to and walks; the
//! summary must show every join, no error, and measured move-to-view latencies.

mod common;

use common::{Stack, StackOptions};
use roomshard_testkit::bins::command;
use roomshard_testkit::http::send;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn loadtest_against_matchmaker_and_three_shards() {
    let stack = Stack::start("e2e-loadtest", StackOptions::default()).expect("the set starts");
    let mut cmd = command("roomshard-loadtest").expect("roomshard-loadtest is built");
    cmd.args([
        "--matchmaker",
        &stack.matchmaker_url(),
        "--players",
        "20",
        "--rate",
        "10",
        "--duration",
        "3",
        "--json",
        "--quiet",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().expect("roomshard-loadtest starts");
    // The tool bounds itself (duration + 30 s); this only guards against a hang.
    let out = child.wait_with_output().expect("roomshard-loadtest runs");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the load test took {:?}",
        started.elapsed()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "roomshard-loadtest failed ({}):\n{stdout}\n{stderr}\n{}",
        out.status,
        stack.logs()
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{stdout}\n{stderr}"));
    let context = format!("summary: {summary:#}\n{}", stack.logs());
    assert_eq!(summary["players"], 20, "{context}");
    assert_eq!(summary["joined"], 20, "every player joins; {context}");
    assert_eq!(summary["errors"], 0, "no errors; {context}");
    assert_eq!(summary["reserve"]["count"], 20, "{context}");
    assert_eq!(summary["connect"]["count"], 20, "{context}");
    let samples = summary["move_to_view"]["count"].as_u64().unwrap_or(0);
    assert!(
        samples > 0,
        "move-to-view latencies were measured; {context}"
    );
    let p50 = summary["move_to_view"]["p50_ms"]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!(
        p50 > 0.0 && p50 < 1000.0,
        "a plausible move-to-view median (one tick is 50 ms); {context}"
    );
    let moves = summary["moves_sent"].as_u64().unwrap_or(0);
    assert!(
        moves >= 20 * 10,
        "players kept moving ({moves} moves); {context}"
    );
    assert!(
        summary["messages_in"].as_u64().unwrap_or(0) > 0,
        "{context}"
    );

    // The rooms the players filled are spread over the shards the matchmaker chose, and
    // every seat was released when the players left.
    let rooms = send(stack.matchmaker.port, "GET", "/rooms", None)
        .and_then(|r| r.json())
        .expect("GET /rooms");
    let listed = rooms["rooms"].as_array().map(Vec::len).unwrap_or(0);
    assert!(
        listed >= 2,
        "20 players need at least two rooms of 16: {rooms}"
    );
}
