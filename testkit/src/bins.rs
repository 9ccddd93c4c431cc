//! The workspace's own binaries, for tests in crates that do not build them
//! (`CARGO_BIN_EXE_*` only names a crate's own binaries).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Variables the binaries read, cleared so the caller's environment cannot leak in.
const INHERITED_VARS: &[&str] = &[
    "ROOM_SHARD",
    "ROOM_SHARD_INDEX",
    "ROOM_SHARD_TOTAL",
    "PORT",
    "BIND",
    "BIND_ADDRESS",
    "REDIS_URL",
    "ROOMSHARD_SET",
    "PUBLIC_URL",
    "HEARTBEAT_INTERVAL_MS",
    "POD_NAME",
    "ROOMSHARD_TOKEN_SECRET",
    "ROOMSHARD_REQUIRE_TOKEN",
    "ROOM_CAPACITY",
    "ROOMS_PER_SHARD",
    "WORKER_BASE_PORT",
    "RESERVATION_TTL_MS",
    "REDIS_TIMEOUT_MS",
    "DRAIN_TIMEOUT_MS",
    "MATCHMAKER_URL",
    "WATCH_NAMESPACE",
    "METRICS_PORT",
    "METRICS_ADDRESS",
    "KUBECONFIG",
];

/// A binary of the workspace, next to the running test's executable
/// (`target/<profile>/NAME`; tests live in `target/<profile>/deps/`). `cargo test
/// --workspace` builds every binary before it runs the tests; a missing one is an error,
/// never a skip.
pub fn binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable has no grandparent folder")?;
    let path = profile_dir.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build the workspace's binaries first (`cargo build --workspace`, \
             or run the tests with `cargo test --workspace`, which builds them)",
            path.display()
        );
    }
    Ok(path)
}

/// A command for one of the workspace's binaries, with a clean environment.
pub fn command(name: &str) -> Result<Command> {
    let mut cmd = Command::new(binary(name)?);
    for var in INHERITED_VARS {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "info");
    Ok(cmd)
}
