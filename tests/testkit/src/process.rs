//! Child processes that die with their owner, free ports, and deadline-bound waiting.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn next_id() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(listener.local_addr()?.port())
}

/// A child process that is killed (SIGKILL) and reaped when dropped.
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdout and stderr appended to `log` (a file path).
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = std::fs::File::create(log).with_context(|| format!("creating {log:?}"))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Sends a signal by name (`TERM`, `KILL`, `STOP`, `CONT`, `INT`) with `kill(1)`.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {} ({}) failed", self.pid(), self.name);
        }
        Ok(())
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits for the process to end, up to `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> Result<std::process::ExitStatus> {
        let name = self.name.clone();
        wait_until(&format!("{name} to exit"), deadline, || self.try_status())
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `probe` every 20 ms until it yields a value or `deadline` passes.
pub fn wait_until<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if start.elapsed() > deadline {
            bail!("timed out after {deadline:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Async twin of [`wait_until`], for probes that await.
pub async fn wait_until_async<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return Ok(v);
        }
        if start.elapsed() > deadline {
            bail!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Finds a program on PATH or in the usual Debian folders.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(Into::into))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A running process with its port and log: what a test starts, probes and, on failure,
/// shows the log of.
pub struct Proc {
    pub name: String,
    pub port: u16,
    pub child: ChildGuard,
    pub log: std::path::PathBuf,
}

impl Proc {
    /// Spawns `cmd` as `name` listening on `port`, logging to `dir/<log_name>.log`.
    pub fn spawn(name: &str, cmd: Command, port: u16, dir: &Path, log_name: &str) -> Result<Self> {
        let log = dir.join(format!("{log_name}.log"));
        let child = ChildGuard::spawn(name, cmd, &log)?;
        Ok(Self {
            name: name.to_owned(),
            port,
            child,
            log,
        })
    }

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
    pub fn wait_ok(&mut self, path: &str, deadline: Duration) -> Result<()> {
        let port = self.port;
        let name = self.name.clone();
        let child = &mut self.child;
        let outcome = wait_until(&format!("{name} {path} to answer 200"), deadline, || {
            if let Some(status) = child.try_status() {
                return Some(Err(anyhow::anyhow!("{name} exited with {status}")));
            }
            crate::http::request(port, "GET", path, None, b"", Duration::from_secs(5))
                .ok()
                .filter(|r| r.status == 200)
                .map(|_| Ok(()))
        });
        match outcome.and_then(|r| r) {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e:#}\n{}", self.logs()),
        }
    }

    /// Resident memory of the process, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        rss_kib(self.child.pid())
    }
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}
