//! Roomshard's fault suite. The tests in `tests/` start the real binaries that `cargo test
//! --workspace` builds into the target folder (`roomshard-worker`, `roomshard-matchmaker`,
//! `roomshard-operator`) next to a throwaway `redis-server`, break something on purpose —
//! SIGKILL a worker or a matchmaker, restart Redis empty, freeze it, kill the operator — and
//! check that nothing is lost silently, given twice or left hanging. This library holds
//! what the scenarios share: starting the binaries as a set's shards and matchmaker, and a
//! long-lived Node Socket.IO player. The HTTP, `/metrics` and Redis clients, the processes
//! and the heartbeat fixtures are the testkit's.

use anyhow::{Context, Result, bail};
use roomshard_testkit::bins::command;
use roomshard_testkit::http::Answer;
use roomshard_testkit::process::{Proc, free_port, wait_until};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SET: &str = "faults";
pub const SECRET: &str = "faults-token-secret-0123456789abcdef";

/// Settings of a worker started by [`start_worker`].
pub struct WorkerOptions<'a> {
    pub index: u32,
    pub total: u32,
    pub redis_url: &'a str,
    pub heartbeat_ms: u64,
    /// Workers with a secret require reservation tokens; without one, joins are open.
    pub secret: Option<&'a str>,
}

/// Starts shards `0..total` of one set and waits until each is ready.
pub fn start_ready_workers(
    dir: &Path,
    total: u32,
    redis_url: &str,
    heartbeat_ms: u64,
    secret: Option<&str>,
) -> Result<Vec<Proc>> {
    let mut workers: Vec<Proc> = (0..total)
        .map(|index| {
            start_worker(
                dir,
                &WorkerOptions {
                    index,
                    total,
                    redis_url,
                    heartbeat_ms,
                    secret,
                },
            )
        })
        .collect::<Result<_>>()?;
    for w in &mut workers {
        w.wait_ok("/readyz", Duration::from_secs(30))?;
    }
    Ok(workers)
}

/// Starts `roomshard-worker` as shard `index/total` on a free port; does not wait.
pub fn start_worker(dir: &Path, opts: &WorkerOptions) -> Result<Proc> {
    let port = free_port()?;
    let mut cmd = command("roomshard-worker")?;
    cmd.env("ROOM_SHARD", format!("{}/{}", opts.index, opts.total))
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("REDIS_URL", opts.redis_url)
        .env("ROOMSHARD_SET", SET)
        .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("POD_NAME", format!("worker-{}", opts.index))
        .env("HEARTBEAT_INTERVAL_MS", opts.heartbeat_ms.to_string())
        .env("DRAIN_TIMEOUT_MS", "500");
    if let Some(secret) = opts.secret {
        cmd.env("ROOMSHARD_TOKEN_SECRET", secret);
    }
    let name = format!("worker {}/{}", opts.index, opts.total);
    Proc::spawn(&name, cmd, port, dir, &format!("worker-{}", opts.index))
}

/// Starts `roomshard-matchmaker` on `port` (a free one when `None`); does not wait.
pub fn start_matchmaker(
    dir: &Path,
    label: &str,
    port: Option<u16>,
    redis_url: &str,
    heartbeat_ms: u64,
) -> Result<Proc> {
    let port = match port {
        Some(p) => p,
        None => free_port()?,
    };
    let mut cmd = command("roomshard-matchmaker")?;
    cmd.env("BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("REDIS_URL", redis_url)
        .env("ROOMSHARD_SET", SET)
        .env("ROOMSHARD_TOKEN_SECRET", SECRET)
        .env("HEARTBEAT_INTERVAL_MS", heartbeat_ms.to_string())
        .env("SHUTDOWN_TIMEOUT_MS", "500")
        // The storms reserve hundreds of seats a second from one address: the abuse limits
        // (tested in the matchmaker's own suite) are off, so the faults are what is tested.
        .env("RESERVE_RATE_PER_IP", "0")
        .env("RESERVE_RATE_PER_PLAYER", "0")
        .env("MAX_RESERVATIONS_PER_PLAYER", "0")
        .env("MAX_ROOMS_PER_TRACK", "0");
    Proc::spawn(label, cmd, port, dir, label)
}

/// Redis and its keys for the suite's set.
pub fn keys() -> roomshard_protocol::Keys {
    // SET is a valid set name; Keys::new only refuses invalid ones.
    roomshard_protocol::Keys::new(SET).unwrap_or_else(|e| panic!("set name {SET}: {e}"))
}

/// `POST /reserve` with a JSON body.
pub fn reserve(port: u16, body: &serde_json::Value) -> Result<Answer> {
    roomshard_testkit::http::send(port, "POST", "/reserve", Some(&body.to_string()))
}

/// The track the `i`th of a run of reservations asks for: `every_other` for even `i`, a
/// track of its own otherwise.
pub fn alternate_track(i: u32, every_other: &str) -> String {
    if i.is_multiple_of(2) {
        every_other.to_owned()
    } else {
        format!("fresh{i}")
    }
}

/// `POST /reserve` that must answer 200; its JSON body.
pub fn reserve_ok(port: u16, body: serde_json::Value) -> Result<serde_json::Value> {
    let answer = reserve(port, &body)?;
    anyhow::ensure!(
        answer.status == 200,
        "/reserve {body} answered {}: {}",
        answer.status,
        answer.body
    );
    answer.json()
}

/// One line a [`Player`] printed, with the time the test read it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub line: serde_json::Value,
}

/// A Node `socket.io-client` player (`tests/node/faults/player.mjs`) that joins a room,
/// keeps moving, and reports everything it receives. Killed when dropped.
pub struct Player {
    pub name: String,
    child: Child,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Player {
    /// Starts a player against the worker at `url`; `token` is a reservation token, or
    /// `None` for an open join. Waits until the join is answered and fails if refused.
    pub fn join(url: &str, room: &str, token: Option<&str>, name: &str) -> Result<Self> {
        let player = Self::spawn(url, room, token, name)?;
        let join = player.join_answer(Duration::from_secs(15))?;
        if join.line["ok"] != true {
            bail!("{name} could not join {room}: {}", join.line);
        }
        Ok(player)
    }

    /// Waits for the answer to the join (or the connection error).
    pub fn join_answer(&self, deadline: Duration) -> Result<Seen> {
        self.wait_for(
            &format!("{} to be answered its join", self.name),
            deadline,
            |s| s.line["ev"] == "join" || s.line["ev"] == "connect_error",
        )
    }

    /// Milliseconds from this player's connection to `answer`, by the times it printed.
    pub fn ms_since_connected(&self, answer: &Seen) -> Result<u64> {
        let connected = self
            .lines()
            .into_iter()
            .find(|s| s.line["ev"] == "connected")
            .with_context(|| format!("{} never connected", self.name))?;
        Ok(answer.line["at"].as_u64().unwrap_or(0) - connected.line["at"].as_u64().unwrap_or(0))
    }

    /// Starts a player without waiting for anything.
    pub fn spawn(url: &str, room: &str, token: Option<&str>, name: &str) -> Result<Self> {
        let dir = roomshard_testkit::node::ensure_installed()?;
        let mut child = Command::new("node")
            .arg(dir.join("faults").join("player.mjs"))
            .args([url, room, token.unwrap_or("-"), name])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting node (is Node.js installed?)")?;
        let stdout = child.stdout.take().context("player stdout")?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(value) = serde_json::from_str(&line)
                    && let Ok(mut seen) = sink.lock()
                {
                    seen.push(Seen {
                        at: Instant::now(),
                        line: value,
                    });
                }
            }
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            seen,
        })
    }

    /// Leaves cleanly: closes the player's stdin, so it closes its socket and exits.
    pub fn leave(&mut self) -> Result<()> {
        drop(self.child.stdin.take());
        let name = self.name.clone();
        let child = &mut self.child;
        wait_until(&format!("{name} to leave"), Duration::from_secs(10), || {
            child.try_wait().ok().flatten()
        })?;
        Ok(())
    }

    /// The id the worker gave this player's entity.
    pub fn id(&self) -> Result<String> {
        self.lines()
            .iter()
            .find(|s| s.line["ev"] == "join")
            .and_then(|s| s.line["self"].as_str().map(str::to_owned))
            .context("the player has no id")
    }

    /// Everything the player has reported so far.
    pub fn lines(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until this player sees `other` join its room (a presence event naming it).
    pub fn wait_sees_join(&self, other: &Player, deadline: Duration) -> Result<Seen> {
        let id = other.id()?;
        self.wait_for(
            &format!("{} to see {} join", self.name, other.name),
            deadline,
            |s| {
                s.line["ev"] == "presence"
                    && s.line["joined"]
                        .as_array()
                        .is_some_and(|j| j.iter().any(|x| x == id.as_str()))
            },
        )
    }

    /// Waits for a reported line matching `pred`.
    pub fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&Seen) -> bool,
    ) -> Result<Seen> {
        wait_until(what, deadline, || self.lines().into_iter().find(&pred))
    }

    /// Waits for a `view` batch received after `since` in which `id` moved or entered.
    pub fn wait_sees_move(&self, id: &str, since: Instant, deadline: Duration) -> Result<Seen> {
        self.wait_for(&format!("{} to see {id} move", self.name), deadline, |s| {
            s.at > since
                && s.line["ev"] == "view"
                && [&s.line["moved"], &s.line["entered"]]
                    .iter()
                    .filter_map(|v| v.as_array())
                    .any(|ids| ids.iter().any(|x| x == id))
        })
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Milliseconds as a short figure for the printed results.
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}
