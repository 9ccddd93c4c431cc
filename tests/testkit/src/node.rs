//! The Node tooling under `tests/node`: the official `socket.io-client` for interop tests,
//! and `socket.io` with `@socket.io/redis-adapter` for the benchmark peer. It is installed
//! by `npm ci` from the committed lock file (`hack/install-deps.sh` runs it).

use anyhow::{Result, bail};
use std::path::PathBuf;

/// `tests/node` in the repository.
pub fn node_dir() -> PathBuf {
    crate::repo_root().join("tests").join("node")
}

/// The folder of the Node scripts, checked to have its packages installed.
pub fn ensure_installed() -> Result<PathBuf> {
    let dir = node_dir();
    if !dir.join("node_modules").join("socket.io-client").is_dir() {
        bail!(
            "Node packages are missing in {}: run `npm ci` there (hack/install-deps.sh does)",
            dir.display()
        );
    }
    Ok(dir)
}
