//! The workspace's own binaries: the one way every test finds them, whether it runs in the
//! crate that builds the binary or in another one (`CARGO_BIN_EXE_*` only names a crate's
//! own binaries).

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Variables the binaries read, cleared so the caller's environment cannot leak in.
const INHERITED_VARS: &[&str] = &[
    "ROOM_SHARD",
    "ROOM_SHARD_INDEX",
    "ROOM_SHARD_TOTAL",
    "PORT",
    "BIND",
    "BIND_ADDRESS",
    "REDIS_URL",
    "REDIS_CA_FILE",
    "REDIS_CLIENT_CERT_FILE",
    "REDIS_CLIENT_KEY_FILE",
    "ROOMSHARD_NAMESPACE",
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
    "MAX_MESSAGE_BYTES",
    "AUTH_MODE",
    "AUTH_JWT_HS256_SECRET",
    "AUTH_JWKS_FILE",
    "AUTH_JWKS_URL",
    "AUTH_JWT_ISSUER",
    "AUTH_JWT_AUDIENCE",
    "AUTH_API_KEYS",
    "AUTH_API_KEYS_FILE",
    "DEFAULT_RESOURCES",
    "DEFAULT_MATCHMAKER_AUTH",
    "DEFAULT_HOOKS",
];

/// A binary of the workspace: next to the running test's executable (`target/<profile>/NAME`;
/// tests live in `target/<profile>/deps/`), where `cargo test` puts the binaries it builds
/// before the tests (a crate's own, or all of them under `--workspace`). When it is not
/// there, as when one test crate runs alone, the workspace's binaries are built once per
/// test process. A binary that cannot be found or built is an error, never a skip.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = profile_dir()?.join(name);
    if path.is_file() {
        return Ok(path);
    }
    built()?
        .get(name)
        .cloned()
        .with_context(|| format!("cargo build reported no executable {name}"))
}

/// The running test's profile folder (`target/<profile>`; tests live in its `deps/`).
pub fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the test executable has no grandparent folder")
}

/// The target folder the running test was built in (the parent of [`profile_dir`]).
pub fn target_dir() -> Result<PathBuf> {
    profile_dir()?
        .parent()
        .map(Path::to_path_buf)
        .context("the profile folder has no parent")
}

static BUILT: OnceLock<Result<HashMap<String, PathBuf>, String>> = OnceLock::new();

fn built() -> Result<&'static HashMap<String, PathBuf>> {
    BUILT
        .get_or_init(|| build_workspace_binaries().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("building the Roomshard binaries failed: {e}"))
}

/// Builds every binary of the workspace and returns where cargo put each.
fn build_workspace_binaries() -> Result<HashMap<String, PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(crate::repo_root())
        // The whole workspace's binaries with dev-dependencies in feature resolution
        // (`--examples` turns that on): the same build `cargo test --workspace` makes, so
        // the binaries are not rebuilt with other features.
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--workspace",
            "--bins",
            "--examples",
        ])
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "cargo build --workspace --bins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut found = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(name), Some(exe)) =
            (msg["target"]["name"].as_str(), msg["executable"].as_str())
        {
            found.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    Ok(found)
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
