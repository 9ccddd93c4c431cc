//! A throwaway `redis-server` on a free loopback port, with no persistence.

use crate::process::{ChildGuard, find_program, free_port, wait_until};
use crate::resp::Reply;
use anyhow::{Context, Result, anyhow};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A running `redis-server`, killed when dropped.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: ChildGuard,
    starts: u32,
    /// Addresses listened on besides 127.0.0.1.
    also: Vec<IpAddr>,
}

impl RedisServer {
    /// Starts a server and waits until it answers PING.
    pub fn start() -> Result<Self> {
        Self::start_also_on(&[])
    }

    /// Starts a server that also listens on `also` (addresses of this host, such as the
    /// root side of a [`crate::netns::Netns`] link), for clients in other namespaces.
    pub fn start_also_on(also: &[IpAddr]) -> Result<Self> {
        let dir = crate::scratch_dir("redis")?;
        let port = free_port()?;
        let child = Self::spawn(port, &dir, 0, also)?;
        let server = Self {
            port,
            dir,
            child,
            starts: 1,
            also: also.to_vec(),
        };
        server.wait_ready(Duration::from_secs(10))?;
        Ok(server)
    }

    fn spawn(port: u16, dir: &std::path::Path, n: u32, also: &[IpAddr]) -> Result<ChildGuard> {
        let bin = find_program("redis-server").ok_or_else(|| {
            anyhow!("redis-server is not installed: run hack/install-deps.sh (apt-get install redis-server)")
        })?;
        let mut bind = vec!["127.0.0.1".to_owned()];
        bind.extend(also.iter().map(IpAddr::to_string));
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--bind"])
            .args(&bind)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                // Protected mode refuses clients that are not on loopback.
                if also.is_empty() { "yes" } else { "no" },
                "--dir",
            ])
            .arg(dir);
        ChildGuard::spawn("redis-server", cmd, &dir.join(format!("redis-{n}.log")))
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis://ADDR:PORT`, for a client that reaches the server on `addr`.
    pub fn url_at(&self, addr: IpAddr) -> String {
        format!("redis://{addr}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// One command through the raw RESP client ([`crate::resp::query`]).
    pub fn query(&self, args: &[&str]) -> Result<Reply> {
        crate::resp::query(self.port, args)
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.query(&["EXISTS", key])? == Reply::Int(1))
    }

    fn wait_ready(&self, deadline: Duration) -> Result<()> {
        wait_until("redis-server to answer PING", deadline, || {
            self.query(&["PING"])
                .ok()
                .filter(|r| r.as_text() == Some("PONG"))
        })
        .map(|_| ())
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn freeze(&self) -> Result<()> {
        self.child.signal("STOP")
    }

    /// Thaws a frozen server (SIGCONT).
    pub fn thaw(&self) -> Result<()> {
        self.child.signal("CONT")
    }

    /// Kills the server; it loses all data (no persistence).
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) -> Result<()> {
        self.child.kill();
        self.child = Self::spawn(self.port, &self.dir, self.starts, &self.also)
            .context("restarting redis-server")?;
        self.starts += 1;
        self.wait_ready(Duration::from_secs(10))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
