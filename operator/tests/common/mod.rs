//! What the operator's binary tests and benchmarks share: the operator process itself.

use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::process::ChildGuard;
use std::path::Path;
use std::process::Command;

pub fn operator_binary() -> std::path::PathBuf {
    roomshard_testkit::bins::binary("roomshard-operator").expect("the operator binary")
}

/// `roomshard-operator` against `cp`, its metrics on `port`, leading through a Lease in
/// `default`, its log in `dir`.
pub fn operator(cp: &ControlPlane, dir: &Path, name: &str, port: u16, redis: &str) -> ChildGuard {
    let mut cmd = Command::new(operator_binary());
    cmd.envs(cp.env())
        .env("POD_NAME", name)
        .env("REDIS_URL", redis)
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", port.to_string())
        .env("LEASE_NAMESPACE", "default")
        .env("LEASE_DURATION_SECONDS", "3")
        .env("LEASE_GRACE_SECONDS", "1")
        .env("RESYNC_SECONDS", "30")
        .env("RUST_LOG", "info");
    ChildGuard::spawn(name, cmd, &dir.join(format!("{name}.log"))).expect("operator starts")
}
