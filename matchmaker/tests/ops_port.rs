//! With OPS_PORT the matchmaker keeps its ops routes and its status page off the client
//! port: the API and the demo on one port, health, readiness, metrics and the status page
//! on the other.

use roomshard_testkit::http::{get, send};
use roomshard_testkit::process::{Proc, free_port};
use roomshard_testkit::redis::RedisServer;
use std::time::Duration;

#[test]
fn ops_routes_and_the_status_page_live_on_the_ops_port_only() {
    let redis = RedisServer::start().expect("redis");
    let (client, ops) = (free_port().expect("port"), free_port().expect("port"));
    let mut cmd = roomshard_testkit::bins::command("roomshard-matchmaker").expect("binary");
    cmd.env("BIND", "127.0.0.1")
        .env("PORT", client.to_string())
        .env("OPS_PORT", ops.to_string())
        .env("REDIS_URL", redis.url())
        .env("ROOMSHARD_TOKEN_SECRET", "ops-port-secret-0123456789")
        .env("AUTH_MODE", "none");
    let dir = roomshard_testkit::scratch_dir("mm-ops").expect("dir");
    let mut mm = Proc::spawn("matchmaker", cmd, ops, &dir, "matchmaker").expect("spawn");
    mm.wait_ok("/readyz", Duration::from_secs(20))
        .expect("ready");
    for path in ["/metrics", "/healthz", "/readyz", "/"] {
        assert_eq!(
            get(client, path).expect("client port").status,
            404,
            "{path}"
        );
        assert_eq!(get(ops, path).expect("ops port").status, 200, "{path}");
    }
    assert_eq!(get(client, "/demo").expect("demo").status, 200);
    assert_eq!(get(client, "/rooms").expect("rooms").status, 200);
    let reserve = send(client, "POST", "/reserve", Some("{}")).expect("reserve");
    assert_eq!(reserve.status, 503, "no shards yet: {}", reserve.body);
    assert_eq!(
        send(ops, "POST", "/reserve", Some("{}"))
            .expect("ops")
            .status,
        404,
        "no API on the ops port"
    );
}
