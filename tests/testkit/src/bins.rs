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
    clean_env(&mut cmd);
    Ok(cmd)
}

/// Removes the variables the binaries read from `cmd`'s environment and sets `RUST_LOG`,
/// for a binary started through another program (such as `ip netns exec`).
pub fn clean_env(cmd: &mut Command) {
    for var in INHERITED_VARS {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "info");
}

/// A running binary of the workspace, with its port and log.
pub struct Proc {
    pub name: String,
    pub port: u16,
    pub child: crate::process::ChildGuard,
    pub log: PathBuf,
}

impl Proc {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of the process's log, for failure messages.
    pub fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines.len().saturating_sub(40);
        format!(
            "--- {} (last lines) ---\n{}",
            self.name,
            lines[tail..].join("\n")
        )
    }

    /// Waits until `path` answers 200, failing early (with the log) if the process exits.
    pub fn wait_ok(&mut self, path: &str, deadline: std::time::Duration) -> Result<()> {
        let port = self.port;
        let name = self.name.clone();
        let child = &mut self.child;
        let outcome =
            crate::process::wait_until(&format!("{name} {path} to answer 200"), deadline, || {
                if let Some(status) = child.try_status() {
                    return Some(Err(anyhow::anyhow!("{name} exited with {status}")));
                }
                crate::http::request(port, "GET", path, None, std::time::Duration::from_secs(5))
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| Ok(()))
            });
        match outcome.and_then(|r| r) {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e:#}\n{}", self.logs()),
        }
    }
}
