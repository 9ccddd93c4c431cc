//! Registration and the heartbeat: `SET shard:{i} <ShardHeartbeat> PX 3×interval` and
//! `ZADD shards <now> i` every interval, so a shard that stops beating vanishes after
//! three missed beats.

use crate::registry::Registry;
use fred::prelude::{KeysInterface, SetsInterface, SortedSetsInterface};
use fred::types::{Expiration, Value};
use roomshard_protocol::records::{Capacity, SCHEMA, ShardHeartbeat};
use roomshard_protocol::{MISSED_HEARTBEATS_UNHEALTHY, ShardId};
use roomshard_runtime::redis::RedisError;
use std::time::Duration;

/// What the worker is, for its heartbeat record.
#[derive(Debug, Clone)]
pub struct Identity {
    pub shard: ShardId,
    pub pod: String,
    pub url: String,
    pub started_at: u64,
    pub interval: Duration,
    pub capacity: Capacity,
}

/// The load reported in one beat.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub rooms: u32,
    pub players: u32,
    pub tracks: Vec<String>,
    pub draining: bool,
}

/// The record of beat number `seq` (pure).
pub fn record(id: &Identity, seq: u64, sent_at: u64, load: Load) -> ShardHeartbeat {
    ShardHeartbeat {
        schema: SCHEMA,
        index: id.shard.index(),
        total: id.shard.total(),
        pod: id.pod.clone(),
        url: id.url.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: id.started_at,
        seq,
        sent_at,
        interval_ms: u64::try_from(id.interval.as_millis()).unwrap_or(u64::MAX),
        rooms: load.rooms,
        players: load.players,
        capacity: id.capacity,
        tracks: load.tracks,
        draining: load.draining,
        handoff: true,
    }
}

pub struct Heartbeat {
    registry: Registry,
    id: Identity,
    seq: std::sync::atomic::AtomicU64,
}

impl Heartbeat {
    pub fn new(registry: Registry, id: Identity) -> Self {
        Self {
            registry,
            id,
            seq: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn interval(&self) -> Duration {
        self.id.interval
    }

    /// Writes one beat.
    pub async fn beat(&self, load: Load) -> Result<(), RedisError> {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let now = roomshard_protocol::now_ms();
        let draining = load.draining;
        let hb = record(&self.id, seq, now, load);
        let ttl_ms =
            i64::try_from(self.id.interval.as_millis() * u128::from(MISSED_HEARTBEATS_UNHEALTHY))
                .unwrap_or(i64::MAX);
        let index = self.id.shard.index();
        // One round trip. Into the draining set first, so a reader that sees a draining
        // record also finds the shard in the set (pipelined commands run in order).
        let pipeline = self.registry.client.pipeline();
        let writes = async {
            if draining {
                pipeline
                    .sadd::<(), _, _>(self.registry.keys.draining(), index.to_string())
                    .await?;
            }
            pipeline
                .set::<(), _, _>(
                    self.registry.keys.shard(index),
                    hb.encode(),
                    Some(Expiration::PX(ttl_ms)),
                    None,
                    false,
                )
                .await?;
            pipeline
                .zadd::<(), _, _>(
                    self.registry.keys.shards(),
                    None,
                    None,
                    false,
                    false,
                    (now as f64, index.to_string()),
                )
                .await?;
            pipeline.all::<Value>().await
        };
        self.registry.call("heartbeat", writes).await?;
        self.registry.metrics.heartbeats.inc();
        self.registry
            .metrics
            .heartbeat_last_success
            .set(now as f64 / 1000.0);
        Ok(())
    }

    /// Whether the operator lists this shard in the set's `draining` set.
    pub async fn marked_draining(&self) -> Result<bool, RedisError> {
        let member = self.id.shard.index().to_string();
        self.registry
            .call(
                "heartbeat",
                self.registry
                    .client
                    .sismember::<bool, _, _>(self.registry.keys.draining(), member),
            )
            .await
    }

    /// Removes the shard from the registry on the way out.
    pub async fn deregister(&self) -> Result<(), RedisError> {
        let index = self.id.shard.index().to_string();
        let pipeline = self.registry.client.pipeline();
        let removals = async {
            pipeline
                .del::<(), _>(self.registry.keys.shard(self.id.shard.index()))
                .await?;
            pipeline
                .zrem::<(), _, _>(self.registry.keys.shards(), index.as_str())
                .await?;
            pipeline
                .srem::<(), _, _>(self.registry.keys.draining(), index.as_str())
                .await?;
            pipeline.all::<Value>().await
        };
        self.registry.call("deregister", removals).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_carries_identity_and_load() {
        let id = Identity {
            shard: "1/3".parse().expect("shard"),
            pod: "game-1".into(),
            url: "ws://x".into(),
            started_at: 5,
            interval: Duration::from_millis(2000),
            capacity: Capacity::default(),
        };
        let hb = record(
            &id,
            7,
            9,
            Load {
                rooms: 2,
                players: 3,
                tracks: vec!["t".into()],
                draining: true,
            },
        );
        let back = ShardHeartbeat::decode(hb.encode().as_bytes()).expect("decodes");
        assert_eq!(
            (back.index, back.total, back.seq, back.sent_at),
            (1, 3, 7, 9)
        );
        assert_eq!((back.rooms, back.players, back.interval_ms), (2, 3, 2000));
        assert!(back.draining);
        assert_eq!(back.pod, "game-1");
    }
}
