//! The contract shared by every Roomshard process (the Socket.IO events are written down in
//! docs/PROTOCOL.md, the matchmaker's HTTP API in docs/openapi.yaml).
//!
//! Nothing here performs I/O: it defines who a shard is ([`ShardId`]), which shard owns a
//! room ([`shard_for_room`]), where state lives in Redis ([`Keys`]), the records stored
//! there ([`records`]), the seats of a room and the placement index of a track as the
//! scripts that keep them share them ([`seats`]), the reservation token a matchmaker hands
//! out and a worker checks ([`token`]), the Socket.IO payloads ([`events`]), the custom
//! events a game declares ([`game_events`]), the server hooks' settings and payloads
//! ([`hooks`]), the messages workers hosting the same room exchange ([`room_sync`]) and
//! the sharded channels they use ([`SyncChannels`]), and the public URL a client is sent
//! to for a shard
//! ([`UrlTemplate`]).

pub mod events;
pub mod game_events;
mod hash;
pub mod hooks;
pub mod keys;
pub mod records;
mod request_origin;
pub mod room_sync;
pub mod seats;
mod shard;
pub mod slot;
mod sync_channels;
pub mod token;
mod url_template;

pub use hash::{fnv1a64, jump_consistent_hash, room_hash, shard_for_room};
pub use keys::{
    Keys, NameError, TrackIndexKeys, hash_tag, validate_room_id, validate_set_name, validate_track,
};
pub use request_origin::request_origin;
pub use shard::{MAX_SHARDS, ShardId, ShardIdError};
pub use sync_channels::{SYNC_PARTITIONS, SyncChannels, partition_tags};
pub use url_template::{ORIGIN, UrlTemplate, UrlTemplateError, fill_origin};

/// Default interval between two shard heartbeats.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 2_000;

/// A shard is unhealthy once this many heartbeat intervals pass without one.
pub const MISSED_HEARTBEATS_UNHEALTHY: u64 = 3;

/// Default lifetime of a seat reservation.
pub const DEFAULT_RESERVATION_TTL_MS: u64 = 30_000;

/// The default RoomShardSet name when none is configured.
pub const DEFAULT_SET: &str = "default";

/// Milliseconds since the Unix epoch, as every record and token in Redis stores time.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
