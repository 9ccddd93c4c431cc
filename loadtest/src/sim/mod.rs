//! `roomshard-sim`: a thousand shards in one process, with no sockets. Each simulated shard
//! is the worker's own heartbeat and seat scripts ([`roomshard_worker::headless`]); the
//! players reserve through the matchmaker's own reserve path and shard view, in the same
//! process. What is measured is therefore what Redis and the placement do at that scale:
//! reserves per second and their latency, the heartbeats' load, and the cost of reading the
//! shard view. The Socket.IO side is measured by `roomshard-loadtest`.
//!
//! - [`fleet`]: the shards and their heartbeats;
//! - [`players`]: the players' reserve → join → leave.

pub mod fleet;
pub mod players;

use crate::stats::{Histogram, LatencySummary};
use anyhow::{Context, Result, bail};
use clap::Parser as _;
use fleet::Fleet;
use players::{Online, PhaseFigures};
use roomshard_matchmaker::{AppState, Config};
use roomshard_protocol::Keys;
use roomshard_protocol::records::Capacity;
use roomshard_protocol::token::TokenKey;
use roomshard_runtime::redis::{ClientOptions, init_with_deadline};
use roomshard_worker::headless::HeadlessSet;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub redis_url: String,
    pub set: String,
    pub shards: u32,
    pub rooms_per_shard: u32,
    pub room_capacity: u32,
    pub tracks: u32,
    pub heartbeat: Duration,
    /// Players reserving (and leaving) at once.
    pub concurrency: usize,
    /// The deadline of every Redis call.
    pub redis_timeout: Duration,
}

/// The secret the simulated matchmaker signs tokens with and the shards check them with.
const SECRET: &str = "roomshard-sim-token-secret-0123456789";

/// The heartbeats over a stretch of time.
#[derive(Debug, Clone, Serialize)]
pub struct BeatFigures {
    pub seconds: f64,
    pub beats: u64,
    pub per_second: f64,
    pub failed: u64,
    pub latency: LatencySummary,
}

/// A running simulation.
pub struct Sim {
    pub plan: Plan,
    fleet: Arc<Fleet>,
    state: AppState,
    token_key: Arc<TokenKey>,
    view: tokio::task::JoinHandle<()>,
    next_player: u64,
}

impl Sim {
    /// Connects, starts every shard and the matchmaker's shard view, and waits until the
    /// view sees every shard healthy.
    pub async fn start(plan: Plan) -> Result<Self> {
        let client = ClientOptions {
            max_command_attempts: 1,
            ..ClientOptions::new(plan.redis_timeout)
        }
        .client(&plan.redis_url)?;
        init_with_deadline(&client, Duration::from_secs(30)).await?;
        let keys = Keys::new(&plan.set)?;
        let set = HeadlessSet::new(client, keys, plan.redis_timeout)?;
        let capacity = Capacity {
            rooms_per_shard: plan.rooms_per_shard,
            players_per_room: plan.room_capacity,
        };
        let fleet = Arc::new(Fleet::start(&set, plan.shards, plan.heartbeat, capacity));
        let config = Config::try_parse_from([
            "roomshard-matchmaker".to_owned(),
            format!("--redis-url={}", plan.redis_url),
            format!("--set={}", plan.set),
            format!("--token-secret={SECRET}"),
            format!("--heartbeat-interval-ms={}", plan.heartbeat.as_millis()),
            format!("--redis-timeout-ms={}", plan.redis_timeout.as_millis()),
            format!("--room-capacity={}", plan.room_capacity),
            format!("--rooms-per-shard={}", plan.rooms_per_shard),
            "--bind=127.0.0.1".to_owned(),
        ])
        .context("matchmaker configuration")?;
        let state = AppState::new(&config)?;
        let view = tokio::spawn(state.shards.clone().keep_fresh());
        let token_key = Arc::new(TokenKey::new(SECRET.as_bytes().to_vec())?);
        let sim = Self {
            plan,
            fleet,
            state,
            token_key,
            view,
            next_player: 0,
        };
        sim.wait_all_healthy().await?;
        Ok(sim)
    }

    async fn wait_all_healthy(&self) -> Result<()> {
        let deadline =
            Instant::now() + self.plan.heartbeat.saturating_mul(5) + Duration::from_secs(10);
        loop {
            if let Ok(view) = self.state.shards.refresh().await {
                let healthy = view.states.iter().filter(|s| s.eligible()).count();
                if healthy == self.plan.shards as usize {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "not every one of {} shards became healthy",
                    self.plan.shards
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Only heartbeats for `seconds`: their rate, latency and failures.
    pub async fn idle(&self, length: Duration) -> BeatFigures {
        let beats = &self.fleet.beats;
        let (b0, f0) = (
            beats.beats.load(Ordering::Relaxed),
            beats.failed.load(Ordering::Relaxed),
        );
        if let Ok(mut h) = beats.latency.lock() {
            *h = Histogram::default();
        }
        let started = Instant::now();
        tokio::time::sleep(length).await;
        let seconds = started.elapsed().as_secs_f64();
        let n = beats.beats.load(Ordering::Relaxed) - b0;
        BeatFigures {
            seconds,
            beats: n,
            per_second: n as f64 / seconds.max(f64::EPSILON),
            failed: beats.failed.load(Ordering::Relaxed) - f0,
            latency: beats
                .latency
                .lock()
                .map(|h| h.summary())
                .unwrap_or_else(|_| Histogram::default().summary()),
        }
    }

    /// Reads the matchmaker's shard view `times` times in a row: how long each read takes.
    pub async fn refresh_view(&self, times: u32) -> Result<LatencySummary> {
        let mut h = Histogram::default();
        for _ in 0..times {
            let started = Instant::now();
            self.state
                .shards
                .refresh()
                .await
                .map_err(|e| anyhow::anyhow!("shard view: {}", e.code()))?;
            h.record(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        Ok(h.summary())
    }

    /// `players` new players reserve and join; they stay until [`Sim::depart`].
    pub async fn arrive(&mut self, players: u64) -> (PhaseFigures, Vec<Online>) {
        let range = self.next_player..self.next_player + players;
        self.next_player = range.end;
        players::arrive(
            &self.state,
            &self.token_key,
            &self.fleet,
            self.plan.tracks,
            range,
            self.plan.concurrency,
        )
        .await
    }

    /// Every one of `online` leaves.
    pub async fn depart(&self, online: Vec<Online>) -> PhaseFigures {
        players::depart(&self.fleet, online, self.plan.concurrency).await
    }

    /// Stops the shards (out of the registry) and the shard view.
    pub async fn stop(self) {
        self.view.abort();
        if let Ok(fleet) = Arc::try_unwrap(self.fleet) {
            fleet.stop().await;
        }
    }
}
