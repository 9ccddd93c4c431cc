//! The demo page as a person uses it, in Debian's headless Chromium driven by
//! playwright-core (tests/node/e2e/demo.mjs), against Redis, a matchmaker and three
//! worker shards: two tabs reserve seats and join, one player moves (click, then arrow
//! keys) and the other tab must see it; a reload of one tab within the resume window takes
//! the same seat back; the live counters and the status page must show the room.
//! Screenshots land in tests/artifacts/demo/.

mod common;

use common::{Stack, StackOptions, artifacts_dir};
use roomshard_testkit::process::wait_until;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn two_browser_tabs_see_each_other_move() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run hack/install-deps.sh (apt-get install chromium)"
    );
    let node_dir = roomshard_testkit::node::ensure_installed().expect("tests/node packages");
    assert!(
        node_dir
            .join("node_modules")
            .join("playwright-core")
            .is_dir(),
        "playwright-core is missing in {}: run `npm ci` there (hack/install-deps.sh does)",
        node_dir.display()
    );
    let stack = Stack::start("e2e-demo", StackOptions::default()).expect("the set starts");
    let artifacts = artifacts_dir("demo").expect("artifacts folder");
    let profile = roomshard_testkit::scratch_dir("chromium-profile").expect("profile folder");

    let mut child = Command::new("node")
        .arg(node_dir.join("e2e").join("demo.mjs"))
        .arg(stack.matchmaker_url())
        .arg(&artifacts)
        .arg(&profile)
        .env("CHROMIUM", CHROMIUM)
        .current_dir(&node_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let status = wait_until("the browser test", Duration::from_secs(120), || {
        child.try_wait().ok().flatten()
    });
    if status.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("node output");
    let _ = std::fs::remove_dir_all(&profile);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\n{}", stack.logs());
    assert!(status.is_ok(), "the browser test hung; {context}");
    let checks: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for name in [
        "alice joined",
        "bob joined",
        "same room",
        "bob sees alice arrive after her click",
        "alice sees bob",
        "bob sees alice walk with the arrow keys",
        "counters",
        "alice resumes after a reload",
        "bob never saw alice leave",
        "status page",
        "no page errors",
    ] {
        let check = checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no check {name:?}; {context}"));
        assert_eq!(
            check["ok"], true,
            "check {name:?} failed: {check}; {context}"
        );
    }
    assert!(out.status.success(), "{context}");
    for shot in ["demo-alice.png", "demo-bob.png", "status.png"] {
        let len = std::fs::metadata(artifacts.join(shot)).map(|m| m.len());
        assert!(len.is_ok_and(|n| n > 1000), "screenshot {shot} was saved");
    }
}
