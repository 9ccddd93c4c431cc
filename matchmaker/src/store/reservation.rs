//! What a reservation is asked to do and what comes of it: the request the store carries
//! out ([`super::reserve`]), the seat it grants, and why it refuses one.

use super::{NewRoom, RedisError, ShardArgs};
use roomshard_protocol::records::Reservation;

/// What a reservation is asked to do.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    pub track: String,
    pub room: Option<String>,
    pub player: String,
    /// Scoped to its caller (`{scope}:{key}`).
    pub idempotency_key: Option<String>,
    pub nonce: String,
    pub ttl_ms: u64,
    /// Shards that may take seats.
    pub eligible: ShardArgs,
    /// Where a new room may go, best first.
    pub new_rooms: Vec<NewRoom>,
    /// Unexpired reservations one player may hold (0: no cap).
    pub player_cap: u32,
    /// Rooms the placement index may have (0: no cap).
    pub track_room_cap: u32,
    /// The placement index the seat is placed from and a new room joins: the track's, or
    /// the one of the metadata asked for (`crate::metadata::placement_index`).
    pub index: String,
    /// The stored form of the metadata a new room gets.
    pub metadata: Option<String>,
    /// The room to create is private: no existing room is filled.
    pub private: bool,
}

/// A seat granted (or found again for an idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub room: String,
    pub track: String,
    pub shard: u32,
    pub expires_at: u64,
    pub nonce: String,
    pub reused: bool,
    pub worker: String,
    pub url: String,
    pub player: String,
}

impl Granted {
    pub(super) fn from_record(r: Reservation) -> Self {
        Self {
            room: r.room,
            track: r.track,
            shard: r.shard,
            expires_at: r.expires_at,
            nonce: r.nonce,
            reused: true,
            worker: r.worker,
            url: r.url,
            player: r.player,
        }
    }
}

/// Why no seat was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RoomNotFound,
    RoomFull,
    ShardUnavailable,
    NoCapacity,
    TrackRoomLimit,
    /// The player holds the most reservations allowed; the oldest expires at this time.
    PlayerLimit {
        oldest_expires_at: u64,
    },
}

pub(super) type Outcome = Result<Result<Granted, Refusal>, RedisError>;
