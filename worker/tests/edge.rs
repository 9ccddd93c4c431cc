//! The client port's edge against the real worker: the ops routes and the demo page on
//! their own port, the Origin allowlist, the connection caps and the join deadline.

mod common;

use common::raw::RawWs;
use common::worker_command;
use roomshard_testkit::http::get;
use roomshard_testkit::metrics::value;
use roomshard_testkit::process::{Proc, free_port, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A solo worker with an ops port and `envs`; returns it (its `port` is the ops port, where
/// readiness is checked) and its client port.
fn start(label: &str, envs: &[(&str, String)]) -> (Proc, u16) {
    let (client, ops) = (free_port().expect("port"), free_port().expect("port"));
    let mut all = envs.to_vec();
    all.push(("PORT", client.to_string()));
    all.push(("OPS_PORT", ops.to_string()));
    let dir = roomshard_testkit::scratch_dir(label).expect("dir");
    let cmd = worker_command(&all).expect("command");
    let mut worker = Proc::spawn(label, cmd, ops, &dir, "worker").expect("spawn");
    worker
        .wait_ok("/readyz", Duration::from_secs(20))
        .expect("ready");
    (worker, client)
}

/// The status of a polling handshake sent with `origin` (None: no Origin header).
fn handshake_status(port: u16, origin: Option<&str>) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    write!(
        s,
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n{origin}\
         Connection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Whether the server closes a fresh connection without a byte read (over a cap): a read
/// sees the end (or a reset) within `within`, where an accepted idle one would time out.
fn closed_at_once(port: u16, within: Duration) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn ops_routes_and_the_demo_live_on_the_ops_port_only() {
    let (worker, client) = start("edge-ops", &[]);
    for path in ["/metrics", "/healthz", "/readyz", "/demo"] {
        assert_eq!(
            get(client, path).expect("client port").status,
            404,
            "{path}"
        );
        assert_eq!(
            get(worker.port, path).expect("ops port").status,
            200,
            "{path}"
        );
    }
    assert_eq!(
        handshake_status(client, None),
        200,
        "Socket.IO on the client port"
    );
    assert_eq!(
        handshake_status(worker.port, None),
        404,
        "no Socket.IO on the ops port"
    );
}

#[test]
fn only_allowed_origins_open_game_connections() {
    let (_worker, client) = start(
        "edge-origin",
        &[("ALLOWED_ORIGINS", "https://play.example.com".into())],
    );
    assert_eq!(
        handshake_status(client, Some("https://play.example.com")),
        200
    );
    assert_eq!(handshake_status(client, Some("https://evil.example")), 403);
    assert_eq!(handshake_status(client, Some("null")), 403);
    assert_eq!(
        handshake_status(client, None),
        200,
        "not a browser: not checked"
    );
}

#[test]
fn connection_caps_close_what_is_over_them_and_free_slots_come_back() {
    let (worker, client) = start("edge-caps", &[("MAX_CONNECTIONS_PER_IP", "3".into())]);
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", client)).expect("connect"))
        .collect();
    // Accepted connections are counted once the server took them.
    wait_until(
        "the fourth connection to be refused",
        Duration::from_secs(5),
        || closed_at_once(client, Duration::from_millis(300)).then_some(()),
    )
    .expect("per-IP cap");
    let refused = value(
        worker.port,
        "roomshard_worker_connections_refused_total{reason=\"max_connections_per_ip\"}",
    )
    .expect("metric");
    assert!(refused >= 1.0, "{refused}");
    drop(held);
    wait_until("a slot to come back", Duration::from_secs(5), || {
        (!closed_at_once(client, Duration::from_millis(300))).then_some(())
    })
    .expect("slots are given back");

    let (total, client) = start(
        "edge-total",
        &[
            ("MAX_CONNECTIONS", "2".into()),
            ("MAX_CONNECTIONS_PER_IP", "0".into()),
        ],
    );
    let _held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", client)).expect("connect"))
        .collect();
    wait_until(
        "the third connection to be refused",
        Duration::from_secs(5),
        || closed_at_once(client, Duration::from_millis(300)).then_some(()),
    )
    .expect("total cap");
    let refused = value(
        total.port,
        "roomshard_worker_connections_refused_total{reason=\"max_connections\"}",
    )
    .expect("metric");
    assert!(refused >= 1.0, "{refused}");
}

#[test]
fn a_socket_that_never_joins_is_closed_at_the_join_deadline() {
    let (worker, client) = start("edge-join", &[("JOIN_TIMEOUT_MS", "500".into())]);
    let mut idle = RawWs::connect(client).expect("idle socket");
    let mut player = RawWs::join(client, "edge", "stays").expect("joined socket");
    assert!(
        idle.closed_within(Duration::from_secs(5)).expect("read"),
        "the idle socket is closed"
    );
    assert!(
        !player
            .closed_within(Duration::from_millis(1500))
            .expect("read"),
        "a player is not"
    );
    let closed = value(
        worker.port,
        "roomshard_worker_forced_disconnects_total{reason=\"join_timeout\"}",
    )
    .expect("metric");
    assert_eq!(closed, 1.0);
}
