//! A shard without sockets: the worker's own heartbeat, seat scripts and room-sync channels,
//! driven from outside. `roomshard-sim` runs a thousand of these in one process against one
//! Redis to measure the registry and the seats at scale; the Socket.IO layer, the grid and
//! the tick are left out, since they never touch Redis.

use crate::error::Rejection;
use crate::heartbeat::{Heartbeat, Identity, Load};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::seats::{RedisSeats, Seats};
use fred::clients::Client;
use fred::interfaces::PubsubInterface;
use roomshard_protocol::records::Capacity;
use roomshard_protocol::room_sync::SyncMessage;
use roomshard_protocol::{Keys, ShardId, SyncChannels};
use roomshard_runtime::redis::RedisError;
use std::sync::Arc;
use std::time::Duration;

/// What every headless shard of one process shares: the connection, the set's keys and
/// channels, the deadline of a call and the metrics its failures are counted in.
#[derive(Clone)]
pub struct HeadlessSet {
    registry: Registry,
    channels: SyncChannels,
}

impl HeadlessSet {
    pub fn new(client: Client, keys: Keys, timeout: Duration) -> anyhow::Result<Self> {
        let channels = SyncChannels::new(keys.clone());
        Ok(Self {
            registry: Registry {
                client,
                keys,
                timeout,
                metrics: Arc::new(Metrics::new()?),
            },
            channels,
        })
    }

    /// Shard `shard`, beating every `interval` once [`HeadlessShard::beat`] is called.
    pub fn shard(&self, shard: ShardId, interval: Duration, capacity: Capacity) -> HeadlessShard {
        let index = shard.index();
        let heartbeat = Heartbeat::new(
            self.registry.clone(),
            Identity {
                shard,
                pod: format!("sim-{index}"),
                url: format!("sim://shard/{index}"),
                started_at: roomshard_protocol::now_ms(),
                interval,
                capacity,
            },
        );
        HeadlessShard {
            heartbeat,
            seats: Seats::Redis(Box::new(RedisSeats::new(self.registry.clone(), index))),
            set: self.clone(),
            worker: format!("sim-{index}-{}", roomshard_protocol::token::new_nonce()),
        }
    }
}

/// One simulated shard.
pub struct HeadlessShard {
    heartbeat: Heartbeat,
    seats: Seats,
    set: HeadlessSet,
    worker: String,
}

impl HeadlessShard {
    /// One heartbeat as the worker writes it: the drain state into the rooms, the record,
    /// and now and then the sweep of every room (which the worker runs in the background).
    pub async fn beat(&self, rooms: u32, players: u32) -> Result<(), RedisError> {
        if let Seats::Redis(r) = &self.seats {
            r.mark_rooms(false).await;
        }
        let load = Load {
            rooms,
            players,
            tracks: Vec::new(),
            draining: false,
        };
        let beat = self.heartbeat.beat(load).await;
        if let Seats::Redis(r) = &self.seats
            && r.sweep_due()
        {
            r.sweep().await;
        }
        beat
    }

    /// Turns the reservation `nonce` of `room` into a player, as a join with a token does;
    /// the room's player count after it.
    pub async fn join(&self, room: &str, nonce: &str) -> Result<u32, Rejection> {
        self.seats
            .join_reserved(room, nonce)
            .await
            .map(|s| s.players)
    }

    /// Frees a player's seat; the players left (None when unknown).
    pub async fn leave(&self, room: &str) -> Option<u32> {
        self.seats.leave(room).await
    }

    /// Publishes a room event on the room's sharded channel, as presence goes to the other
    /// workers hosting the room.
    pub async fn publish_presence(&self, room: &str, players: u32) -> Result<(), RedisError> {
        let msg = SyncMessage::Event {
            w: self.worker.clone(),
            e: roomshard_protocol::events::PRESENCE.to_owned(),
            d: serde_json::json!({ "room": room, "players": players }),
            b: Vec::new(),
        };
        let channel = self.set.channels.channel(room);
        self.set
            .registry
            .call(
                "sync_publish",
                self.set
                    .registry
                    .client
                    .spublish::<i64, _, _>(channel, msg.encode()),
            )
            .await
            .map(|_| ())
    }

    /// Takes the shard's record out of the registry.
    pub async fn deregister(&self) -> Result<(), RedisError> {
        self.heartbeat.deregister().await
    }
}
