//! The simulated players: each reserves through the matchmaker's own reserve path (in this
//! process, no HTTP), joins on the shard it was sent to with the reservation's nonce (the
//! worker's seat script), and later leaves; joins and leaves publish presence on the room's
//! sharded channel as a worker does.

use super::fleet::Fleet;
use crate::stats::{Histogram, LatencySummary};
use roomshard_matchmaker::AppState;
use roomshard_matchmaker::reserve::{ValidReserve, reserve};
use roomshard_protocol::token::TokenKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A player in a room.
#[derive(Clone)]
pub struct Online {
    pub room: String,
    pub shard: u32,
}

/// What one phase of players did.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseFigures {
    pub players: u64,
    pub seconds: f64,
    pub per_second: f64,
    /// Failures by code.
    pub failed: BTreeMap<String, u64>,
    /// Reserve latency (arrivals) or leave latency (departures).
    pub first: LatencySummary,
    /// Join latency (arrivals).
    pub second: LatencySummary,
}

#[derive(Default)]
struct Tally {
    first: Histogram,
    second: Histogram,
    failed: BTreeMap<String, u64>,
    online: Vec<Online>,
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Players `from..to` reserve and join, `concurrency` at a time.
pub async fn arrive(
    state: &AppState,
    token_key: &Arc<TokenKey>,
    fleet: &Arc<Fleet>,
    tracks: u32,
    range: std::ops::Range<u64>,
    concurrency: usize,
) -> (PhaseFigures, Vec<Online>) {
    let next = Arc::new(AtomicU64::new(range.start));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (state, key, fleet) = (state.clone(), token_key.clone(), fleet.clone());
            let (next, tally, end) = (next.clone(), tally.clone(), range.end);
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return;
                    }
                    let outcome = one_arrival(&state, &key, &fleet, tracks, i).await;
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok((online, reserve_us, join_us)) => {
                            t.first.record(reserve_us);
                            t.second.record(join_us);
                            t.online.push(online);
                        }
                        Err(code) => *t.failed.entry(code).or_default() += 1,
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let t = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    (
        figures(&t, range.end - range.start, started.elapsed()),
        t.online,
    )
}

async fn one_arrival(
    state: &AppState,
    token_key: &TokenKey,
    fleet: &Fleet,
    tracks: u32,
    i: u64,
) -> Result<(Online, u64, u64), String> {
    let req = ValidReserve {
        track: format!("t{}", i % u64::from(tracks.max(1))),
        room: None,
        player: format!("p{i}"),
        idempotency_key: None,
        scope: "anon".into(),
        bound: false,
        metadata: None,
    };
    let asked = Instant::now();
    let granted = reserve(state, req)
        .await
        .map_err(|e| format!("reserve: {}", e.code()))?;
    let reserve_us = micros(asked);
    let r = granted.response;
    let claims = token_key
        .verify(&r.token, roomshard_protocol::now_ms())
        .map_err(|_| "token".to_owned())?;
    let sim = fleet.get(r.shard).ok_or("shard")?;
    let joining = Instant::now();
    let players = sim
        .shard
        .join(&r.room, &claims.nonce)
        .await
        .map_err(|e| format!("join: {}", e.code))?;
    let join_us = micros(joining);
    sim.count(&r.room, true);
    // Presence goes to the room's other workers; a lost one is no failure of the join.
    let _ = sim.shard.publish_presence(&r.room, players).await;
    Ok((
        Online {
            room: r.room,
            shard: r.shard,
        },
        reserve_us,
        join_us,
    ))
}

/// Every player of `online` leaves, `concurrency` at a time.
pub async fn depart(fleet: &Arc<Fleet>, online: Vec<Online>, concurrency: usize) -> PhaseFigures {
    let total = online.len() as u64;
    let queue = Arc::new(Mutex::new(online));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (fleet, queue, tally) = (fleet.clone(), queue.clone(), tally.clone());
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                    let Some(p) = next else { return };
                    let Some(sim) = fleet.get(p.shard) else {
                        continue;
                    };
                    let leaving = Instant::now();
                    let left = sim.shard.leave(&p.room).await;
                    let leave_us = micros(leaving);
                    sim.count(&p.room, false);
                    if let Some(players) = left {
                        let _ = sim.shard.publish_presence(&p.room, players).await;
                    }
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match left {
                        Some(_) => t.first.record(leave_us),
                        None => *t.failed.entry("leave".into()).or_default() += 1,
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let t = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    figures(&t, total, started.elapsed())
}

fn figures(t: &Tally, players: u64, took: Duration) -> PhaseFigures {
    let seconds = took.as_secs_f64();
    PhaseFigures {
        players,
        seconds,
        per_second: if seconds > 0.0 {
            players as f64 / seconds
        } else {
            0.0
        },
        failed: t.failed.clone(),
        first: t.first.summary(),
        second: t.second.summary(),
    }
}
