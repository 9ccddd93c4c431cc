//! Shared by the cross-component tests: a running set (Redis, N worker shards, a
//! matchmaker) of the real binaries. The binaries, processes and the HTTP client are the
//! testkit's.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use roomshard_testkit::bins::command;
use roomshard_testkit::http::send;
use roomshard_testkit::process::{Proc, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use std::path::PathBuf;
use std::time::Duration;

pub const SET: &str = "e2e";
pub const SECRET: &str = "e2e-token-secret-0123456789abcdef";

/// How to start a set.
pub struct StackOptions {
    pub shards: u32,
    /// The `PUBLIC_URL` of shard `i` given its port; `None`: `http://127.0.0.1:{port}`.
    pub public_url: Option<Box<dyn Fn(u32, u16) -> String>>,
    /// `ROOMSHARD_REQUIRE_TOKEN` for the workers; `None` keeps their default (on).
    pub require_token: Option<bool>,
    /// Ports for the workers (one per shard) and the matchmaker, when the caller needs
    /// to know them before the set starts; free ports otherwise.
    pub worker_ports: Option<Vec<u16>>,
    pub matchmaker_port: Option<u16>,
    /// More environment for every worker (`RESUME_WINDOW_MS`, ...).
    pub worker_env: Vec<(String, String)>,
    /// More environment for the matchmaker (`AUTH_MODE`, ...).
    pub matchmaker_env: Vec<(String, String)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            shards: 3,
            public_url: None,
            require_token: None,
            worker_ports: None,
            matchmaker_port: None,
            worker_env: Vec::new(),
            matchmaker_env: Vec::new(),
        }
    }
}

/// Redis, `shards` workers (`ROOM_SHARD=i/N`, one `PORT` each) and a matchmaker: the
/// same processes `hack/dev.sh` starts. Everything is killed when dropped.
pub struct Stack {
    // Drop order: clients of Redis first.
    pub matchmaker: Proc,
    pub workers: Vec<Proc>,
    pub redis: RedisServer,
    pub dir: PathBuf,
}

impl Stack {
    pub fn start(label: &str, opts: StackOptions) -> Result<Self> {
        let redis = RedisServer::start()?;
        let dir = roomshard_testkit::scratch_dir(label)?;
        let mut workers = Vec::new();
        for i in 0..opts.shards {
            let port = match &opts.worker_ports {
                Some(ports) => *ports.get(i as usize).context("a port per shard")?,
                None => free_port()?,
            };
            let public_url = match &opts.public_url {
                Some(f) => f(i, port),
                None => format!("http://127.0.0.1:{port}"),
            };
            let mut cmd = command("roomshard-worker")?;
            cmd.env("ROOM_SHARD", format!("{i}/{}", opts.shards))
                .env("PORT", port.to_string())
                .env("BIND_ADDRESS", "127.0.0.1")
                .env("REDIS_URL", redis.url())
                .env("ROOMSHARD_SET", SET)
                .env("ROOMSHARD_TOKEN_SECRET", SECRET)
                .env("PUBLIC_URL", public_url)
                .env("POD_NAME", format!("{label}-{i}"))
                .env("HEARTBEAT_INTERVAL_MS", "500")
                .env("DRAIN_TIMEOUT_MS", "500");
            cmd.envs(opts.worker_env.iter().map(|(k, v)| (k, v)));
            if let Some(required) = opts.require_token {
                cmd.env("ROOMSHARD_REQUIRE_TOKEN", required.to_string());
            }
            let name = format!("worker {i}/{}", opts.shards);
            workers.push(Proc::spawn(&name, cmd, port, &dir, &format!("worker-{i}"))?);
        }
        let port = match opts.matchmaker_port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut cmd = command("roomshard-matchmaker")?;
        cmd.env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("REDIS_URL", redis.url())
            .env("ROOMSHARD_SET", SET)
            .env("ROOMSHARD_TOKEN_SECRET", SECRET)
            .env("HEARTBEAT_INTERVAL_MS", "500");
        cmd.envs(opts.matchmaker_env.iter().map(|(k, v)| (k, v)));
        let mut stack = Self {
            matchmaker: Proc::spawn("matchmaker", cmd, port, &dir, "matchmaker")?,
            workers,
            redis,
            dir,
        };
        if let Err(e) = stack.wait_ready(opts.shards) {
            bail!("{e:#}\n{}", stack.logs());
        }
        Ok(stack)
    }

    fn wait_ready(&mut self, shards: u32) -> Result<()> {
        for w in &mut self.workers {
            w.wait_ok("/readyz", Duration::from_secs(30))?;
        }
        let port = self.matchmaker.port;
        let mm = &mut self.matchmaker;
        wait_until(
            &format!("the matchmaker to see {shards} healthy shards"),
            Duration::from_secs(30),
            || {
                if let Some(status) = mm.child.try_status() {
                    return Some(Err(anyhow::anyhow!("the matchmaker exited with {status}")));
                }
                // The shard gauge, not `GET /rooms`, which is private when auth is on.
                let healthy =
                    roomshard_testkit::metrics::value(port, "roomshard_matchmaker_healthy_shards")
                        .ok()?;
                (healthy as u32 == shards).then_some(Ok(()))
            },
        )?
    }

    pub fn matchmaker_url(&self) -> String {
        self.matchmaker.url()
    }

    /// The tail of every process's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for w in &self.workers {
            out += &w.logs();
            out.push('\n');
        }
        out += &self.matchmaker.logs();
        out
    }

    /// `POST /reserve` with a JSON body; the parsed answer of a 200, an error otherwise.
    pub fn reserve(&self, body: &serde_json::Value) -> Result<serde_json::Value> {
        let r = send(
            self.matchmaker.port,
            "POST",
            "/reserve",
            Some(&body.to_string()),
        )?;
        if r.status != 200 {
            bail!("/reserve answered {}: {}", r.status, r.body);
        }
        r.json()
    }
}

/// `tests/artifacts/<name>` in the repository (git-ignored), created when missing.
pub fn artifacts_dir(name: &str) -> Result<PathBuf> {
    let dir = roomshard_testkit::repo_root()
        .join("tests")
        .join("artifacts")
        .join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
