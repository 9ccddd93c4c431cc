//! Roomshard's fault suite. The tests in `tests/` start the real binaries that `cargo test
//! --workspace` builds into the target folder (`roomshard-worker`, `roomshard-matchmaker`,
//! `roomshard-operator`) next to a throwaway `redis-server`, break something on purpose —
//! SIGKILL a worker or a matchmaker, restart Redis empty, freeze it, kill the operator — and
//! check that nothing is lost silently, given twice or left hanging. This library holds
//! what the scenarios share: finding and starting the binaries, a small HTTP client, and a
//! long-lived Node Socket.IO player.

use anyhow::{Context, Result, bail};
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SET: &str = "faults";
pub const SECRET: &str = "faults-token-secret-0123456789abcdef";

pub use roomshard_testkit::bins::command;

pub use roomshard_testkit::bins::Proc;

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
    let log = dir.join(format!("worker-{}.log", opts.index));
    let child = ChildGuard::spawn(&name, cmd, &log)?;
    Ok(Proc {
        name,
        port,
        child,
        log,
    })
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
        .env("SHUTDOWN_TIMEOUT_MS", "500");
    let log = dir.join(format!("{label}.log"));
    let child = ChildGuard::spawn(label, cmd, &log)?;
    Ok(Proc {
        name: label.to_owned(),
        port,
        child,
        log,
    })
}

/// Installs the RoomShardSet CRD (`crds/roomshardset.yaml`) and waits until the API server
/// serves it. Polls rather than `kubectl wait`, which fails outright when asked before the
/// CRD has any status.
pub fn install_crd(cp: &roomshard_testkit::control_plane::ControlPlane) -> Result<()> {
    let crd = roomshard_testkit::repo_root().join("crds/roomshardset.yaml");
    let out = cp
        .kubectl()
        .arg("apply")
        .arg("-f")
        .arg(&crd)
        .output()
        .context("running kubectl apply")?;
    if !out.status.success() {
        bail!(
            "kubectl apply -f {}: {}",
            crd.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_until(
        "the RoomShardSet CRD to be established",
        Duration::from_secs(30),
        || {
            let out = cp
                .kubectl()
                .args([
                    "get",
                    "crd",
                    "roomshardsets.roomshard.dev",
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
                ])
                .output()
                .ok()?;
            (String::from_utf8_lossy(&out.stdout).trim() == "True").then_some(())
        },
    )
}

/// Redis and its keys for the suite's set.
pub fn keys() -> roomshard_protocol::Keys {
    // SET is a valid set name; Keys::new only refuses invalid ones.
    roomshard_protocol::Keys::new(SET).unwrap_or_else(|e| panic!("set name {SET}: {e}"))
}

/// Whether a key exists, from a raw inline `EXISTS`.
pub fn key_exists(redis: &RedisServer, key: &str) -> Result<bool> {
    let reply = redis.command(&format!("EXISTS {key}"))?;
    Ok(reply.starts_with(":1"))
}

/// An integer reply of one inline command (`:N`), `None` for a nil reply.
pub fn int_reply(redis: &RedisServer, line: &str) -> Result<Option<i64>> {
    let reply = redis.command(line)?;
    let first = reply.lines().next().unwrap_or("");
    if let Some(n) = first.strip_prefix(':') {
        return Ok(Some(n.trim().parse()?));
    }
    if first.starts_with("$-1") || first.starts_with('_') {
        return Ok(None);
    }
    if first.starts_with('$') {
        let value = reply.lines().nth(1).context("bulk reply without a value")?;
        return Ok(Some(value.trim().parse()?));
    }
    bail!("unexpected reply to {line}: {reply:?}")
}

pub use roomshard_testkit::http::Answer;
use roomshard_testkit::http::request;

/// One HTTP/1.1 request on loopback (`Connection: close`) with a JSON body when given,
/// bounded by 10 s.
pub fn http(port: u16, method: &str, path: &str, json_body: Option<&str>) -> Result<Answer> {
    http_within(port, method, path, json_body, Duration::from_secs(10))
}

/// [`http`] with a caller-chosen bound on connecting and reading.
pub fn http_within(
    port: u16,
    method: &str,
    path: &str,
    json_body: Option<&str>,
    bound: Duration,
) -> Result<Answer> {
    request(
        port,
        method,
        path,
        json_body.map(|b| ("application/json", b)),
        bound,
    )
}

/// `POST /reserve` with a JSON body.
pub fn reserve(port: u16, body: &serde_json::Value) -> Result<Answer> {
    http(port, "POST", "/reserve", Some(&body.to_string()))
}

/// A metric's value from `/metrics`: the sum of every series whose name and labels start
/// with `series` (so a counter with labels can be read whole).
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

/// `kubectl` against the control plane; its standard output, or its standard error as the
/// error.
pub fn kubectl(
    cp: &roomshard_testkit::control_plane::ControlPlane,
    args: &[&str],
) -> Result<String> {
    let out = cp
        .kubectl()
        .args(args)
        .output()
        .context("running kubectl")?;
    if !out.status.success() {
        bail!("kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn metric(port: u16, series: &str) -> Result<f64> {
    metric_at(std::net::SocketAddr::from(([127, 0, 0, 1], port)), series)
}

/// [`metric`] of a process listening on `addr`.
pub fn metric_at(addr: std::net::SocketAddr, series: &str) -> Result<f64> {
    let answer = roomshard_testkit::http::request_to(
        addr,
        "GET",
        "/metrics",
        None,
        Duration::from_secs(10),
    )?;
    if answer.status != 200 {
        bail!("/metrics answered {}", answer.status);
    }
    let mut found = false;
    let mut sum = 0.0;
    for line in answer.body.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with(series) {
            found = true;
            sum += line
                .rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .with_context(|| format!("bad metric line {line}"))?;
        }
    }
    if !found {
        bail!("no series {series} in /metrics");
    }
    Ok(sum)
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

/// A reply of Redis (RESP2, and the RESP3 null).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nil,
    Int(i64),
    Text(String),
    Error(String),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            Reply::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Reply::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn texts(&self) -> Vec<String> {
        match self {
            Reply::Array(items) => items
                .iter()
                .filter_map(|i| i.as_text().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// One command to the Redis on `port`, sent as a RESP array (any bytes in arguments),
/// with its whole reply read and parsed; bounded by 5 s.
pub fn redis_query(port: u16, args: &[&str]) -> Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req += &format!("${}\r\n{a}\r\n", a.len());
    }
    s.write_all(req.as_bytes())?;
    let mut reader = BufReader::new(s);
    let reply = read_reply(&mut reader)?;
    if let Reply::Error(e) = &reply {
        bail!("redis {args:?}: {e}");
    }
    Ok(reply)
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).context("empty reply line")?;
    Ok(match kind {
        "+" => Reply::Text(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(rest.parse()?),
        "_" => Reply::Nil,
        "$" => {
            let len: i64 = rest.parse()?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let mut buf = vec![0u8; usize::try_from(len)? + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(buf.len() - 2);
            Reply::Text(String::from_utf8(buf)?)
        }
        "*" => {
            let len: i64 = rest.parse()?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(read_reply(r)?);
            }
            Reply::Array(items)
        }
        other => bail!("unexpected reply type {other:?}"),
    })
}

/// Writes heartbeats for shards `0..total` as workers do (the record with a TTL and the
/// `shards` entry), so a matchmaker places seats without real workers. Valid for `ttl`.
pub fn write_heartbeats(
    redis_port: u16,
    total: u32,
    capacity: roomshard_protocol::records::Capacity,
    ttl: Duration,
) -> Result<()> {
    let k = keys();
    let now = roomshard_protocol::now_ms();
    for index in 0..total {
        let record = roomshard_protocol::records::ShardHeartbeat {
            schema: 1,
            index,
            total,
            pod: format!("worker-{index}"),
            url: format!("http://127.0.0.1:{}", 3000 + index),
            version: "faults".into(),
            started_at: now,
            seq: 1,
            sent_at: now,
            // Long enough that the records stay healthy for the whole test.
            interval_ms: u64::try_from(ttl.as_millis())? / 3,
            rooms: 0,
            players: 0,
            capacity,
            tracks: vec![],
            draining: false,
        };
        let ttl_ms = ttl.as_millis().to_string();
        redis_query(
            redis_port,
            &["SET", &k.shard(index), &record.encode(), "PX", &ttl_ms],
        )?;
        redis_query(
            redis_port,
            &["ZADD", &k.shards(), &now.to_string(), &index.to_string()],
        )?;
    }
    Ok(())
}
