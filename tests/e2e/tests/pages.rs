//! The HTML pages the binaries serve: the matchmaker's status page at `/` and demo at
//! `/demo`, and a solo worker's demo (no Redis: it joins its own room without a
//! reservation). Each must be self-contained: no script, style or image from elsewhere.

mod common;

use common::{Stack, StackOptions};
use roomshard_testkit::bins::command;
use roomshard_testkit::http::{Answer, send};
use roomshard_testkit::process::{Proc, free_port};
use std::time::Duration;

fn assert_self_contained(page: &Answer, what: &str) {
    assert_eq!(page.status, 200, "{what}: {}", page.body);
    assert!(
        page.header("content-type")
            .is_some_and(|ct| ct.starts_with("text/html")),
        "{what}: {:?}",
        page.headers
    );
    let lower = page.body.to_ascii_lowercase();
    for external in [
        "src=\"http",
        "src=\"//",
        "href=\"http",
        "href=\"//",
        "@import",
        "<script src",
    ] {
        assert!(
            !lower.contains(external),
            "{what} loads something from elsewhere ({external})"
        );
    }
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{what} forbids outside resources: {:?}",
        page.headers
    );
}

#[test]
fn matchmaker_serves_status_and_demo_pages() {
    let stack = Stack::start(
        "e2e-pages",
        StackOptions {
            shards: 1,
            ..StackOptions::default()
        },
    )
    .expect("the set starts");
    let status = send(stack.matchmaker.port, "GET", "/", None).expect("GET /");
    assert_self_contained(&status, "the status page");
    assert!(
        status.body.contains("fetch(\"rooms\""),
        "it polls GET /rooms"
    );
    let demo = send(stack.matchmaker.port, "GET", "/demo", None).expect("GET /demo");
    assert_self_contained(&demo, "the matchmaker's demo");
    assert!(
        demo.body
            .contains(r#"<meta name="roomshard-mode" content="reserve">"#)
    );
    // The API around the pages is unchanged: unknown paths stay JSON errors.
    let missing = send(stack.matchmaker.port, "GET", "/nowhere", None).expect("GET /nowhere");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json().expect("json")["error"]["code"], "not_found");
}

#[test]
fn solo_worker_serves_a_direct_demo() {
    let port = free_port().expect("port");
    let dir = roomshard_testkit::scratch_dir("e2e-solo").expect("dir");
    let mut cmd = command("roomshard-worker").expect("roomshard-worker is built");
    cmd.env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1");
    let mut worker = Proc::spawn("solo worker", cmd, port, &dir, "worker").expect("worker starts");
    worker
        .wait_ok("/readyz", Duration::from_secs(20))
        .expect("the solo worker is ready");
    let demo = send(port, "GET", "/demo", None).expect("GET /demo");
    assert_self_contained(&demo, "the worker's demo");
    assert!(
        demo.body
            .contains(r#"<meta name="roomshard-mode" content="direct">"#),
        "a worker's demo joins directly"
    );
}
