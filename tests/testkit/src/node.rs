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

/// A Node script under `tests/node` running in the background, its standard output
/// collected; killed when dropped.
pub struct NodeProc {
    script: String,
    child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

fn read_all(mut from: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = from.read_to_string(&mut s);
        s
    })
}

/// Starts `node tests/node/<script> ARGS...` (such as `worker/crowd.mjs`). With
/// `keep_stderr` its standard error is kept for [`NodeProc::finish`]'s error; otherwise it
/// goes to the test's own.
pub fn spawn(script: &str, args: &[String], keep_stderr: bool) -> Result<NodeProc> {
    use anyhow::Context as _;
    use std::process::{Command, Stdio};
    let dir = ensure_installed()?;
    let mut child = Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if keep_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .context("starting node")?;
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    Ok(NodeProc {
        script: script.to_owned(),
        child,
        stdout,
        stderr,
    })
}

/// Runs `tests/node/<script>` to its end and returns its JSON lines; fails when it exits
/// with an error or outlives `deadline`.
pub fn run(
    script: &str,
    args: &[String],
    deadline: std::time::Duration,
) -> Result<Vec<serde_json::Value>> {
    let end = spawn(script, args, true)?.wait(deadline)?;
    if !end.status.success() {
        bail!(
            "node {script} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            end.status,
            end.stdout,
            end.stderr
        );
    }
    Ok(end.lines())
}

/// How a Node script ended.
struct End {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl End {
    fn lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl NodeProc {
    fn wait(mut self, deadline: std::time::Duration) -> Result<End> {
        let script = self.script.clone();
        let child = &mut self.child;
        let status =
            crate::process::wait_until(&format!("node {script} to finish"), deadline, || {
                child.try_wait().ok().flatten()
            })?;
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        Ok(End {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        })
    }

    /// Waits for the script to end, however it ends, and returns its JSON lines.
    pub fn finish(self, deadline: std::time::Duration) -> Result<Vec<serde_json::Value>> {
        Ok(self.wait(deadline)?.lines())
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `value` of the line `{"check": name, "ok": true, "value": ...}` a scenario script
/// printed; panics (failing the test) when it is missing or not ok.
pub fn check<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let line = lines
        .iter()
        .find(|l| l["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {lines:#?}"));
    assert_eq!(line["ok"], true, "check {name} failed: {line}");
    &line["value"]
}
