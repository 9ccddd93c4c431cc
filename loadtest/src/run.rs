//! The simulated players and what they measure.

use crate::reserve::Matchmaker;
use crate::sio::{Client, Packet, parse_frame};
use crate::stats::{Histogram, LatencySummary};
use anyhow::{Context, Result, anyhow};
use rand::RngExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Hard bounds, whatever the flags say.
pub const MAX_PLAYERS: u32 = 20_000;
pub const MAX_DURATION: Duration = Duration::from_secs(600);
/// Longest wait for every player to join before the measured phase starts anyway.
pub const MAX_RAMP: Duration = Duration::from_secs(120);
pub const MAX_RATE_HZ: f64 = 60.0;

/// Where players come from.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Reserve through the matchmaker, then connect where it says.
    Matchmaker { url: String, track: String },
    /// Connect straight to workers (development mode, no reservations), spreading players
    /// over `rooms` rooms round-robin and over `workers` round-robin.
    Direct { workers: Vec<String>, rooms: u32 },
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub entry: Entry,
    pub players: u32,
    pub rate_hz: f64,
    pub duration: Duration,
    /// Players connecting at once during ramp-up.
    pub connect_concurrency: usize,
    /// Step of each random-walk move, in world units.
    pub step: f64,
    /// Players numbered below this decode their views and time move-to-view.
    pub timed_players: u32,
}

/// Send times of a player's recent positions, to time move-to-view.
#[derive(Default)]
struct Trail {
    sent: Mutex<VecDeque<(u32, u32, Instant)>>,
}

const TRAIL_LEN: usize = 64;

#[derive(Default)]
struct Shared {
    trails: RwLock<HashMap<String, Arc<Trail>>>,
    reserve: Mutex<Histogram>,
    connect: Mutex<Histogram>,
    view: Mutex<Histogram>,
    joined: AtomicU64,
    /// Players whose join has ended, joined or not.
    ramped: AtomicU64,
    moves_sent: AtomicU64,
    messages_in: AtomicU64,
    bytes_in: AtomicU64,
    errors: AtomicU64,
    error_samples: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, e: anyhow::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut samples) = self.error_samples.lock()
            && samples.len() < 5
        {
            samples.push(format!("{e:#}"));
        }
    }

    fn record(&self, which: &Mutex<Histogram>, since: Instant) {
        if let Ok(mut h) = which.lock() {
            h.record(since.elapsed().as_micros() as u64);
        }
    }
}

/// Figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub players: u32,
    pub joined: u64,
    pub seconds: f64,
    pub moves_sent: u64,
    pub reserve: LatencySummary,
    pub connect: LatencySummary,
    pub move_to_view: LatencySummary,
    pub messages_per_client_per_s: f64,
    pub bytes_per_client_per_s: f64,
    pub messages_in: u64,
    pub bytes_in: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

fn position_key(x: f64, y: f64) -> (u32, u32) {
    ((x as f32).to_bits(), (y as f32).to_bits())
}

/// Runs the plan, printing a progress line to stderr every second when `progress` is set.
pub async fn run(plan: Plan, progress: bool) -> Result<Summary> {
    let players = plan.players.clamp(1, MAX_PLAYERS);
    let duration = plan.duration.min(MAX_DURATION);
    let shared = Arc::new(Shared::default());
    let gate = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));
    let start = Instant::now();
    // Every player joins first; the measured phase starts for all at once when the last
    // join has ended, so the presence traffic of the ramp is not counted as load.
    let (deadline_tx, deadline_rx) = tokio::sync::watch::channel(None::<Instant>);
    let matchmaker = match &plan.entry {
        Entry::Matchmaker { url, .. } => Some(Matchmaker::new(url)),
        Entry::Direct { .. } => None,
    };

    let mut tasks = Vec::with_capacity(players as usize);
    for n in 0..players {
        let shared = shared.clone();
        let gate = gate.clone();
        let plan = plan.clone();
        let matchmaker = matchmaker.clone();
        let deadline = deadline_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut ramped = false;
            let result = player(n, &plan, matchmaker, deadline, &shared, gate, &mut ramped).await;
            if !ramped {
                shared.ramped.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = result {
                shared.error(e);
            }
        }));
    }
    let ramp_bound = start + MAX_RAMP;
    while shared.ramped.load(Ordering::Relaxed) < u64::from(players) && Instant::now() < ramp_bound
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let measured_from = Instant::now();
    let deadline = measured_from + duration;
    let _ = deadline_tx.send(Some(deadline));

    let reporter = progress.then(|| {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last_bytes = 0;
            let mut last_msgs = 0;
            loop {
                tick.tick().await;
                let bytes = shared.bytes_in.load(Ordering::Relaxed);
                let msgs = shared.messages_in.load(Ordering::Relaxed);
                eprint!(
                    "\r[{:>4.0}s/{:.0}s+ramp] joined {}/{} | msgs/s {} | KiB/s {:.0} | errors {}   ",
                    start.elapsed().as_secs_f64(),
                    duration.as_secs_f64(),
                    shared.joined.load(Ordering::Relaxed),
                    players,
                    msgs - last_msgs,
                    (bytes - last_bytes) as f64 / 1024.0,
                    shared.errors.load(Ordering::Relaxed),
                );
                last_bytes = bytes;
                last_msgs = msgs;
            }
        })
    });

    let hard_stop = duration + Duration::from_secs(30);
    for task in tasks {
        if tokio::time::timeout_at((measured_from + hard_stop).into(), task)
            .await
            .is_err()
        {
            shared.error(anyhow!("a player did not stop within {hard_stop:?}"));
        }
    }
    if let Some(r) = reporter {
        r.abort();
        eprintln!();
    }

    let seconds = duration.as_secs_f64();
    let joined = shared.joined.load(Ordering::Relaxed);
    let messages_in = shared.messages_in.load(Ordering::Relaxed);
    let bytes_in = shared.bytes_in.load(Ordering::Relaxed);
    let per_client = |v: u64| {
        if joined == 0 {
            0.0
        } else {
            v as f64 / joined as f64 / seconds
        }
    };
    let summary_of = |h: &Mutex<Histogram>| {
        h.lock()
            .map(|h| h.summary())
            .unwrap_or_else(|_| Histogram::default().summary())
    };
    Ok(Summary {
        players,
        joined,
        seconds,
        moves_sent: shared.moves_sent.load(Ordering::Relaxed),
        reserve: summary_of(&shared.reserve),
        connect: summary_of(&shared.connect),
        move_to_view: summary_of(&shared.view),
        messages_per_client_per_s: per_client(messages_in),
        bytes_per_client_per_s: per_client(bytes_in),
        messages_in,
        bytes_in,
        errors: shared.errors.load(Ordering::Relaxed),
        error_samples: shared
            .error_samples
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default(),
    })
}

async fn player(
    n: u32,
    plan: &Plan,
    matchmaker: Option<Matchmaker>,
    mut deadline: tokio::sync::watch::Receiver<Option<Instant>>,
    shared: &Shared,
    gate: Arc<Semaphore>,
    ramped: &mut bool,
) -> Result<()> {
    let permit = gate.acquire_owned().await?;
    let name = format!("lt-{n}");
    let timed = n < plan.timed_players;
    let (url, room, token) = match (&plan.entry, matchmaker) {
        (Entry::Matchmaker { track, .. }, Some(mm)) => {
            let t = Instant::now();
            let seat = mm.reserve(track, &name).await?;
            shared.record(&shared.reserve, t);
            crate::target::ensure_loopback(&seat.url)?;
            (seat.url, seat.room, Some(seat.token))
        }
        (Entry::Direct { workers, rooms }, _) => {
            let worker = workers
                .get(n as usize % workers.len().max(1))
                .cloned()
                .context("no worker URL")?;
            (worker, format!("load-{}", n % (*rooms).max(1)), None)
        }
        (Entry::Matchmaker { .. }, None) => return Err(anyhow!("no matchmaker client")),
    };

    let t = Instant::now();
    let mut client = Client::connect(&url).await?;
    let join = json!({ "room": room, "token": token, "name": name });
    let ack_id = client.emit_with_ack("join", &join).await?;
    let ack = client.wait_ack(ack_id, |_| {}).await?;
    if ack.get("ok") != Some(&Value::Bool(true)) {
        return Err(anyhow!("join refused: {ack}"));
    }
    shared.record(&shared.connect, t);
    shared.joined.fetch_add(1, Ordering::Relaxed);
    shared.ramped.fetch_add(1, Ordering::Relaxed);
    *ramped = true;
    drop(permit);
    // Until every player has joined: answer pings, count nothing.
    let stop = loop {
        if let Some(at) = *deadline.borrow_and_update() {
            break tokio::time::Instant::from(at);
        }
        tokio::select! {
            changed = deadline.changed() => changed?,
            text = client.next_text() => { text?; }
        }
    };
    let (mut bytes_seen, mut frames_seen) = (client.bytes_in, client.frames_in);

    let me = ack
        .get("self")
        .and_then(Value::as_str)
        .unwrap_or(&name)
        .to_owned();
    let width = ack.get("width").and_then(Value::as_f64).unwrap_or(1000.0);
    let height = ack.get("height").and_then(Value::as_f64).unwrap_or(1000.0);
    let trail = Arc::new(Trail::default());
    if let Ok(mut trails) = shared.trails.write() {
        trails.insert(me.clone(), trail.clone());
    }

    let (mut x, mut y) = {
        let mut rng = rand::rng();
        (rng.random_range(0.0..width), rng.random_range(0.0..height))
    };
    // Moves come at `rate` on average, each gap drawn from 0.5..1.5 periods: fixed gaps
    // would lock every player to one phase of the server's tick, and move-to-view would
    // then measure that phase rather than the server.
    let period = Duration::from_secs_f64(1.0 / plan.rate_hz.clamp(0.1, MAX_RATE_HZ));
    let mut next_move =
        tokio::time::Instant::now() + period.mul_f64(rand::rng().random_range(0.0..1.0));
    loop {
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(stop) => break,
            _ = tokio::time::sleep_until(next_move) => {
                let now = tokio::time::Instant::now();
                if next_move + period < now {
                    // Far behind (a stalled client): no burst to catch up.
                    next_move = now;
                }
                next_move += period.mul_f64(rand::rng().random_range(0.5..1.5));
                let (dx, dy) = {
                    let mut rng = rand::rng();
                    (rng.random_range(-plan.step..=plan.step), rng.random_range(-plan.step..=plan.step))
                };
                x = f64::from(((x + dx).clamp(0.0, width)) as f32);
                y = f64::from(((y + dy).clamp(0.0, height)) as f32);
                let (kx, ky) = position_key(x, y);
                if let Ok(mut sent) = trail.sent.lock() {
                    if sent.len() >= TRAIL_LEN {
                        sent.pop_front();
                    }
                    sent.push_back((kx, ky, Instant::now()));
                }
                client.emit("move", &json!({ "x": x, "y": y })).await?;
                shared.moves_sent.fetch_add(1, Ordering::Relaxed);
            }
            text = client.next_text() => {
                let text = text?;
                if timed
                    && let Packet::Event { name, data } = parse_frame(&text)?
                    && name == "view"
                {
                    time_view(&data, &me, shared);
                }
                shared.bytes_in.fetch_add(client.bytes_in - bytes_seen, Ordering::Relaxed);
                shared.messages_in.fetch_add(client.frames_in - frames_seen, Ordering::Relaxed);
                bytes_seen = client.bytes_in;
                frames_seen = client.frames_in;
            }
        }
    }
    let _ = client.emit("leave", &json!({})).await;
    client.close().await;
    Ok(())
}

/// Matches the moves in a `view` batch with their senders' send times.
fn time_view(view: &Value, me: &str, shared: &Shared) {
    let now = Instant::now();
    let Ok(trails) = shared.trails.read() else {
        return;
    };
    let entries = ["moved", "entered"]
        .iter()
        .filter_map(|k| view.get(*k).and_then(Value::as_array))
        .flatten();
    let mut samples = Vec::new();
    for entry in entries {
        let (Some(id), Some(x), Some(y)) = (
            entry.get("id").and_then(Value::as_str),
            entry.get("x").and_then(Value::as_f64),
            entry.get("y").and_then(Value::as_f64),
        ) else {
            continue;
        };
        if id == me {
            continue;
        }
        let Some(trail) = trails.get(id) else {
            continue;
        };
        let key = position_key(x, y);
        if let Ok(sent) = trail.sent.lock()
            && let Some((_, _, at)) = sent.iter().rev().find(|(kx, ky, _)| (*kx, *ky) == key)
        {
            samples.push(now.saturating_duration_since(*at).as_micros() as u64);
        }
    }
    if let Ok(mut h) = shared.view.lock() {
        for s in samples {
            h.record(s);
        }
    }
}

/// A plain-text summary table.
pub fn table(s: &Summary) -> String {
    let row = |name: &str, l: &LatencySummary| {
        format!(
            "{name:<14} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
            l.count, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        )
    };
    let mut out = format!(
        "players {} joined {} over {:.0}s, {} moves sent, {} errors\n\n{:<14} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        s.players,
        s.joined,
        s.seconds,
        s.moves_sent,
        s.errors,
        "latency (ms)",
        "count",
        "p50",
        "p95",
        "p99",
        "max"
    );
    out += &row("reserve", &s.reserve);
    out += &row("connect+join", &s.connect);
    out += &row("move-to-view", &s.move_to_view);
    out += &format!(
        "\nper client: {:.1} messages/s, {:.1} KiB/s (total {} messages, {:.1} MiB)\n",
        s.messages_per_client_per_s,
        s.bytes_per_client_per_s / 1024.0,
        s.messages_in,
        s.bytes_in as f64 / (1024.0 * 1024.0)
    );
    for e in &s.error_samples {
        out += &format!("error: {e}\n");
    }
    out
}
