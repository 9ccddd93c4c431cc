//! The JavaScript client library (`clients/js`, `@roomshard/client`) under Node's test
//! runner: its unit tests, and its tests against the real binaries — Redis, two worker
//! shards with a short resume window and a small replay buffer, and a matchmaker, started
//! here — whose players drop their connections (WebSocket, long polling, half-open) and
//! resume, come back too late or after too much, or race and forge resumes.

mod common;

use common::{Stack, StackOptions};
use roomshard_testkit::http::send;
use roomshard_testkit::process::wait_until;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Short enough for the "past the window" tests to wait it out, long enough for a resume
/// on a busy machine.
const RESUME_WINDOW_MS: u64 = 4000;
/// Room events kept for replay: small, so that a test can outrun it (`replay_gap`).
const RESUME_BUFFER_EVENTS: u64 = 24;

#[test]
fn client_library_resumes_against_the_real_binaries() {
    let dir = roomshard_testkit::repo_root().join("clients").join("js");
    assert!(
        dir.join("node_modules").join("socket.io-client").is_dir(),
        "Node packages are missing in {}: run `npm ci` there (hack/install-deps.sh does)",
        dir.display()
    );
    let stack = Stack::start(
        "e2e-client-js",
        StackOptions {
            shards: 2,
            worker_env: vec![
                ("RESUME_WINDOW_MS".into(), RESUME_WINDOW_MS.to_string()),
                (
                    "RESUME_BUFFER_EVENTS".into(),
                    RESUME_BUFFER_EVENTS.to_string(),
                ),
            ],
            ..StackOptions::default()
        },
    )
    .expect("the set starts");
    // The demo page's imports: every module of the library but the Node entry point
    // (which imports socket.io-client by name), as it is in the repository.
    let mut modules: Vec<String> = std::fs::read_dir(dir.join("src"))
        .expect("clients/js/src")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".js") && name != "index.js")
        .collect();
    modules.sort();
    assert!(modules.contains(&"game.js".to_owned()), "{modules:?}");
    for module in &modules {
        let source = std::fs::read_to_string(dir.join("src").join(module)).expect("module source");
        for (port, what) in [
            (stack.matchmaker.port, "the matchmaker"),
            (stack.workers[0].port, "a worker"),
        ] {
            let r = send(port, "GET", &format!("/demo/client/{module}"), None).expect("GET");
            assert_eq!(r.status, 200, "{what} serves {module}");
            assert!(
                r.header("content-type")
                    .is_some_and(|ct| ct.starts_with("text/javascript")),
                "{what}: {module} is JavaScript"
            );
            assert_eq!(r.body, source, "{what} serves {module} as it is");
        }
    }
    let missing = send(stack.workers[0].port, "GET", "/demo/client/index.js", None).expect("GET");
    assert_eq!(missing.status, 404, "only the browser modules are served");
    let mut child = Command::new("node")
        .args(["--test", "--test-reporter=tap", "test/"])
        .current_dir(&dir)
        .env("ROOMSHARD_MATCHMAKER_URL", stack.matchmaker_url())
        .env("ROOMSHARD_RESUME_WINDOW_MS", RESUME_WINDOW_MS.to_string())
        .env(
            "ROOMSHARD_RESUME_BUFFER_EVENTS",
            RESUME_BUFFER_EVENTS.to_string(),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let status = wait_until("node --test", Duration::from_secs(180), || {
        child.try_wait().ok().flatten()
    });
    if status.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("node output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}\n{}", stack.logs());
    assert!(status.is_ok(), "node --test hung; {context}");
    assert!(out.status.success(), "node --test failed; {context}");
    println!("{stdout}");
    // The real-binary tests ran rather than skipped.
    assert!(
        stdout.contains("\n# fail 0") && stdout.contains("\n# skipped 0"),
        "tests failed or were skipped; {context}"
    );
}
