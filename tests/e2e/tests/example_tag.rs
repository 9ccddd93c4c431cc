//! The tag example (`examples/tag`) as its README runs it: its backend as the workers'
//! onJoin and onEvent hooks, two workers told about its custom events, Redis and a
//! matchmaker, and one round of its bots on the official client. The round ends with
//! three tags that every bot heard, one "it" by the backend's word, and every bot's view
//! showing that player, and only that one, as "it" through entity state.

mod common;

use common::{Stack, StackOptions};
use roomshard_testkit::http::send;
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn node(example: &Path, script: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(example.join(script)).env("NO_COLOR", "1");
    cmd
}

/// The example's `EVENTS`, from its rules (one source for the README, the bots and here).
fn events(example: &Path) -> String {
    let rules = example.join("rules.mjs");
    let out = Command::new("node")
        .args([
            "--input-type=module",
            "-e",
            &format!(
                "const m = await import({:?}); console.log(JSON.stringify(m.EVENTS));",
                rules.display().to_string()
            ),
        ])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn one_round_of_the_tag_example_against_real_workers() {
    let repo = roomshard_testkit::repo_root();
    let example = repo.join("examples").join("tag");
    assert!(
        repo.join("clients/js/node_modules/socket.io-client")
            .is_dir(),
        "Node packages are missing in clients/js: run `npm ci` there (hack/install-deps.sh does)"
    );
    let dir = roomshard_testkit::scratch_dir("e2e-example-tag").expect("scratch dir");
    let backend_port = free_port().expect("port");
    let mut cmd = node(&example, "backend.mjs");
    cmd.env("PORT", backend_port.to_string());
    let _backend =
        ChildGuard::spawn("tag backend", cmd, &dir.join("backend.log")).expect("backend starts");
    wait_until("the tag backend", Duration::from_secs(20), || {
        send(backend_port, "GET", "/healthz", None)
            .ok()
            .filter(|r| r.status == 200)
    })
    .expect("the backend answers");

    let base = format!("http://127.0.0.1:{backend_port}/hooks");
    let hooks = serde_json::json!({
        "onJoin": {"url": format!("{base}/join")},
        "onEvent": {"url": format!("{base}/event")},
    });
    let stack = Stack::start(
        "e2e-example-tag",
        StackOptions {
            shards: 2,
            worker_env: vec![
                ("EVENTS".into(), events(&example)),
                ("HOOKS".into(), hooks.to_string()),
            ],
            ..StackOptions::default()
        },
    )
    .expect("the set starts");

    let mut cmd = node(&example, "bot.mjs");
    cmd.args([
        "--matchmaker",
        &stack.matchmaker_url(),
        "--bots",
        "3",
        "--timeout",
        "90000",
    ]);
    let log = dir.join("bots.log");
    let mut bots = ChildGuard::spawn("tag bots", cmd, &log).expect("bots start");
    let status = bots.wait_exit(Duration::from_secs(120));
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let context = || {
        format!(
            "bots:\n{output}\nbackend:\n{}\n{}",
            std::fs::read_to_string(dir.join("backend.log")).unwrap_or_default(),
            stack.logs()
        )
    };
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "{status:?}; {}",
        context()
    );
    let lines: Vec<Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let roles: Vec<&str> = lines.iter().filter_map(|l| l["role"].as_str()).collect();
    assert_eq!(roles.len(), 3, "{}", context());
    assert_eq!(
        roles.iter().filter(|r| **r == "it").count(),
        1,
        "the onJoin hook makes the room's first player \"it\"; {}",
        context()
    );
    let rooms: Vec<&str> = lines.iter().filter_map(|l| l["room"].as_str()).collect();
    assert!(rooms.windows(2).all(|w| w[0] == w[1]), "{}", context());
    let round = lines
        .iter()
        .find_map(|l| l.get("round"))
        .unwrap_or_else(|| panic!("no round summary; {}", context()));
    assert_eq!(round["tags"], 3, "{}", context());
    assert_eq!(
        round["tagsSeen"],
        serde_json::json!([3, 3, 3]),
        "{}",
        context()
    );
    assert_eq!(round["statesAgree"], true, "{}", context());
    assert_eq!(
        round["its"],
        serde_json::json!([round["loser"]]),
        "{}",
        context()
    );
}
