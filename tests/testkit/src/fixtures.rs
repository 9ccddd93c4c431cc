//! Shard heartbeats as a worker writes them, built the way the test needs them:
//! `HeartbeatBuilder::new(0, 3).draining().players(5).build()`.

use anyhow::Result;
use roomshard_protocol::Keys;
use roomshard_protocol::records::{Capacity, ShardHeartbeat};
use std::time::Duration;

/// A [`ShardHeartbeat`] of shard `index` of `total`: registered now, beating every 2 s,
/// empty, not draining, pod `game-INDEX`, no URL of its own, default capacity.
#[derive(Debug, Clone)]
pub struct HeartbeatBuilder {
    hb: ShardHeartbeat,
}

impl HeartbeatBuilder {
    pub fn new(index: u32, total: u32) -> Self {
        let now = roomshard_protocol::now_ms();
        Self {
            hb: ShardHeartbeat {
                schema: 1,
                index,
                total,
                pod: format!("game-{index}"),
                url: String::new(),
                version: "test".into(),
                started_at: now,
                seq: 1,
                sent_at: now,
                interval_ms: 2_000,
                rooms: 0,
                players: 0,
                capacity: Capacity::default(),
                tracks: vec![],
                draining: false,
                handoff: false,
            },
        }
    }

    pub fn capacity(mut self, capacity: Capacity) -> Self {
        self.hb.capacity = capacity;
        self
    }

    pub fn rooms(mut self, rooms: u32) -> Self {
        self.hb.rooms = rooms;
        self
    }

    pub fn players(mut self, players: u32) -> Self {
        self.hb.players = players;
        self
    }

    /// A worker that has seen its shard's draining mark.
    pub fn draining(mut self) -> Self {
        self.hb.draining = true;
        self
    }

    /// A worker that hands its rooms over when the operator replaces it.
    pub fn handoff(mut self) -> Self {
        self.hb.handoff = true;
        self
    }

    /// The worker's own public URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.hb.url = url.into();
        self
    }

    pub fn pod(mut self, pod: impl Into<String>) -> Self {
        self.hb.pod = pod.into();
        self
    }

    pub fn tracks(mut self, tracks: &[&str]) -> Self {
        self.hb.tracks = tracks.iter().map(|t| (*t).to_owned()).collect();
        self
    }

    pub fn interval_ms(mut self, interval_ms: u64) -> Self {
        self.hb.interval_ms = interval_ms;
        self
    }

    /// When the heartbeat says it was written (ms since the epoch).
    pub fn sent_at(mut self, sent_at: u64) -> Self {
        self.hb.sent_at = sent_at;
        self
    }

    pub fn build(self) -> ShardHeartbeat {
        self.hb
    }
}

/// Writes `hb` as a worker does, through the raw RESP client: the record with a TTL of
/// `ttl`, and the shard's entry in the set's index of shards.
pub fn write_heartbeat(
    redis_port: u16,
    keys: &Keys,
    hb: &ShardHeartbeat,
    ttl: Duration,
) -> Result<()> {
    let ttl_ms = ttl.as_millis().to_string();
    let now = roomshard_protocol::now_ms().to_string();
    let index = hb.index.to_string();
    crate::resp::query(
        redis_port,
        &["SET", &keys.shard(hb.index), &hb.encode(), "PX", &ttl_ms],
    )?;
    crate::resp::query(redis_port, &["ZADD", &keys.shards(), &now, &index])?;
    Ok(())
}

/// Heartbeats for shards `0..total` of `capacity`, each valid for `ttl` and beating every
/// third of it, so that they stay healthy for the whole test.
pub fn write_heartbeats(
    redis_port: u16,
    keys: &Keys,
    total: u32,
    capacity: Capacity,
    ttl: Duration,
) -> Result<()> {
    let interval_ms = u64::try_from(ttl.as_millis())? / 3;
    for index in 0..total {
        let hb = HeartbeatBuilder::new(index, total)
            .capacity(capacity)
            .interval_ms(interval_ms)
            .build();
        write_heartbeat(redis_port, keys, &hb, ttl)?;
    }
    Ok(())
}
