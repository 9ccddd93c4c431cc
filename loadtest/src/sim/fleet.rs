//! The simulated shards: a thousand headless workers in one process, each beating on its
//! own timer with the load it has, as the real worker reports it (rooms hosted, players).

use roomshard_protocol::ShardId;
use roomshard_protocol::records::Capacity;
use roomshard_worker::headless::{HeadlessSet, HeadlessShard};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stats::Histogram;

/// One shard and the players it hosts, by room.
pub struct SimShard {
    pub shard: HeadlessShard,
    rooms: Mutex<HashMap<String, u32>>,
}

impl SimShard {
    /// A player of `room` joined (true) or left (false) here.
    pub fn count(&self, room: &str, joined: bool) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let players = rooms.entry(room.to_owned()).or_default();
        if joined {
            *players += 1;
        } else {
            *players = players.saturating_sub(1);
            if *players == 0 {
                rooms.remove(room);
            }
        }
    }

    fn load(&self) -> (u32, u32) {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let players: u32 = rooms.values().sum();
        (u32::try_from(rooms.len()).unwrap_or(u32::MAX), players)
    }
}

/// What the heartbeats did: how many, how long each took, how many failed.
#[derive(Default)]
pub struct BeatStats {
    pub latency: Mutex<Histogram>,
    pub beats: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Fleet {
    pub shards: Vec<Arc<SimShard>>,
    pub beats: Arc<BeatStats>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Fleet {
    /// Starts `total` shards; shard `i` first beats at `i/total` of an interval, so the
    /// beats spread over the interval as independent pods' do.
    pub fn start(set: &HeadlessSet, total: u32, interval: Duration, capacity: Capacity) -> Self {
        let beats = Arc::new(BeatStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut shards = Vec::new();
        let mut tasks = Vec::new();
        for index in 0..total {
            let Ok(id) = ShardId::new(index, total) else {
                continue;
            };
            let sim = Arc::new(SimShard {
                shard: set.shard(id, interval, capacity),
                rooms: Mutex::new(HashMap::new()),
            });
            shards.push(sim.clone());
            let (beats, stop) = (beats.clone(), stop.clone());
            let offset = interval.mul_f64(f64::from(index) / f64::from(total.max(1)));
            tasks.push(tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let (rooms, players) = sim.load();
                    let started = Instant::now();
                    let ok = sim.shard.beat(rooms, players).await.is_ok();
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    if let Ok(mut h) = beats.latency.lock() {
                        h.record(micros);
                    }
                    beats.beats.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        beats.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        Self {
            shards,
            beats,
            stop,
            tasks,
        }
    }

    /// The shard of index `i`.
    pub fn get(&self, index: u32) -> Option<&Arc<SimShard>> {
        self.shards.get(usize::try_from(index).ok()?)
    }

    /// Stops every heartbeat and takes the shards out of the registry.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks.drain(..) {
            t.abort();
        }
        for s in &self.shards {
            let _ = s.shard.deregister().await;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
