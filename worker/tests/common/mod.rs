//! Shared by the worker's integration tests: start the real binary, probe its HTTP
//! endpoints, and run the Node scenario scripts under tests/node/worker.
#![allow(dead_code)]

pub mod raw;

use anyhow::{Context, Result, bail};
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Variables the worker reads, cleared so the caller's environment cannot leak in.
const WORKER_VARS: &[&str] = &[
    "ROOM_SHARD",
    "ROOM_SHARD_INDEX",
    "ROOM_SHARD_TOTAL",
    "PORT",
    "REDIS_URL",
    "ROOMSHARD_SET",
    "PUBLIC_URL",
    "HEARTBEAT_INTERVAL_MS",
    "POD_NAME",
    "ROOMSHARD_TOKEN_SECRET",
    "ROOMSHARD_REQUIRE_TOKEN",
    "DRAIN_TIMEOUT_MS",
    "MAX_MESSAGE_BYTES",
    "ROOM_CAPACITY",
];

pub const SECRET: &str = "test-secret-0123456789abcdef";

pub struct Worker {
    pub port: u16,
    pub child: ChildGuard,
    pub log: PathBuf,
}

impl Worker {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident memory of the process, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS")
    }
}

pub fn worker_command(envs: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomshard-worker"));
    for var in WORKER_VARS {
        cmd.env_remove(var);
    }
    cmd.env("BIND_ADDRESS", "127.0.0.1").env("RUST_LOG", "info");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Starts a worker and waits until /readyz answers 200.
pub fn start_worker(label: &str, envs: &[(&str, String)]) -> Result<Worker> {
    let port = free_port()?;
    let mut all = envs.to_vec();
    all.push(("PORT", port.to_string()));
    let dir = roomshard_testkit::scratch_dir(label)?;
    let log = dir.join("worker.log");
    let child = ChildGuard::spawn(label, worker_command(&all), &log)?;
    let mut worker = Worker { port, child, log };
    let ready = wait_until(
        &format!("{label} to be ready"),
        Duration::from_secs(20),
        || {
            if worker.child.try_status().is_some() {
                return Some(false);
            }
            http_get(port, "/readyz")
                .ok()
                .filter(|(s, _)| *s == 200)
                .map(|_| true)
        },
    );
    match ready {
        Ok(true) => Ok(worker),
        Ok(false) => bail!("{label} exited early:\n{}", worker.logs()),
        Err(e) => bail!("{e}\n{}", worker.logs()),
    }
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status line")?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A metric's value from /metrics (first series whose name and labels start with `series`).
pub fn metric(port: u16, series: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics").ok()?;
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Runs `tests/node/worker/<script>` and returns its JSON lines. Fails clearly when the
/// Node packages are missing.
pub fn run_node(
    script: &str,
    args: &[String],
    deadline: Duration,
) -> Result<Vec<serde_json::Value>> {
    let dir = roomshard_testkit::node::ensure_installed()?;
    let mut child = Command::new("node")
        .arg(dir.join("worker").join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting node")?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("node {script} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if !status.success() {
        bail!("node {script} failed ({status}):\nstdout:\n{text}\nstderr:\n{err}");
    }
    Ok(lines)
}

/// The `value` of the line `{"check": name, "ok": true, "value": ...}`; fails otherwise.
pub fn check<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    let line = lines
        .iter()
        .find(|l| l["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {lines:#?}"));
    assert_eq!(line["ok"], true, "check {name} failed: {line}");
    &line["value"]
}

/// A Node script running in the background.
pub struct NodeProc {
    child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<String>>,
}

pub fn spawn_node(script: &str, args: &[String]) -> Result<NodeProc> {
    let dir = roomshard_testkit::node::ensure_installed()?;
    let mut child = Command::new("node")
        .arg(dir.join("worker").join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting node")?;
    let mut out = child.stdout.take().context("stdout")?;
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    Ok(NodeProc {
        child,
        stdout: Some(stdout),
    })
}

impl NodeProc {
    /// Waits for the script to end and returns its JSON lines.
    pub fn finish(mut self, deadline: Duration) -> Result<Vec<serde_json::Value>> {
        let start = Instant::now();
        loop {
            if self.child.try_wait()?.is_some() {
                break;
            }
            if start.elapsed() > deadline {
                bail!("node did not finish within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = self
            .stdout
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET of a Redis string key through the inline protocol; None when absent.
pub fn redis_get(redis: &roomshard_testkit::redis::RedisServer, key: &str) -> Option<String> {
    let reply = redis.command(&format!("GET {key}")).ok()?;
    if reply.starts_with("$-1") || reply.starts_with('_') {
        return None;
    }
    let (_, rest) = reply.split_once("\r\n")?;
    Some(rest.trim_end_matches("\r\n").to_owned())
}
