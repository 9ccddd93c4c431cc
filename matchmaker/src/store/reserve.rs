//! One reservation in Redis: what the reserve script is asked, and what it answers.

use super::{RESERVE, RedisError, Store, num};
use fred::bytes_utils::Str;
use fred::types::{Key, Value};
use std::sync::Arc;

/// What the reserve script is asked to do.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    pub track: String,
    pub room: Option<String>,
    pub player: String,
    pub idempotency_key: Option<String>,
    pub nonce: String,
    pub ttl_ms: u64,
    /// Shards that may take seats, as the script receives them.
    pub eligible: ShardArgs,
    /// Where a new room may go, best first.
    pub new_rooms: Vec<NewRoom>,
    /// Unexpired reservations one player may hold (0: no cap).
    pub player_cap: u32,
    /// Rooms the track may have (0: no cap).
    pub track_room_cap: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub shard: u32,
    pub room: String,
    pub rooms_per_shard: u32,
    pub seats: u32,
}

/// The shards that may take seats (index, worker name, client URL), encoded once for the
/// reserve script and shared by every reservation planned with the same shard view.
#[derive(Debug, Clone, Default)]
pub struct ShardArgs(Arc<ShardArgsInner>);

#[derive(Debug, Default)]
struct ShardArgsInner {
    shards: Vec<u32>,
    values: Vec<Value>,
}

impl ShardArgs {
    pub fn new<'a>(eligible: impl IntoIterator<Item = (u32, &'a str, &'a str)>) -> Self {
        let mut shards = Vec::new();
        let mut values = vec![Value::Null];
        for (shard, worker, url) in eligible {
            shards.push(shard);
            values.extend([
                Value::Integer(i64::from(shard)),
                Value::from(worker),
                Value::from(url),
            ]);
        }
        values[0] = Value::Integer(shards.len() as i64);
        Self(Arc::new(ShardArgsInner { shards, values }))
    }

    /// The eligible shards' indices, in order.
    pub fn shards(&self) -> &[u32] {
        &self.0.shards
    }
}

/// A seat the script granted (or found again for an idempotency key).
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

/// Why the script refused.
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

impl Store {
    pub async fn reserve(
        &self,
        req: &ReserveRequest,
    ) -> Result<Result<Granted, Refusal>, RedisError> {
        let text = |s: &str| Value::String(Str::from(s));
        let opt = |s: &Option<String>| text(s.as_deref().unwrap_or_default());
        let call = || {
            let keys = vec![
                Key::from(self.keys.track_rooms(&req.track)),
                self.draining.clone(),
            ];
            let eligible = &req.eligible.0.values;
            let mut args = Vec::with_capacity(10 + eligible.len() + 4 * req.new_rooms.len());
            args.extend([
                Value::String(self.prefix.clone()),
                Value::Integer(i64::try_from(req.ttl_ms).unwrap_or(i64::MAX)),
                text(&req.nonce),
                text(&req.track),
                opt(&req.room),
                opt(&req.idempotency_key),
                text(&req.player),
            ]);
            args.extend(eligible.iter().cloned());
            args.push(Value::Integer(req.new_rooms.len() as i64));
            for n in &req.new_rooms {
                args.extend([
                    Value::Integer(i64::from(n.shard)),
                    text(&n.room),
                    Value::Integer(i64::from(n.rooms_per_shard)),
                    Value::Integer(i64::from(n.seats)),
                ]);
            }
            args.extend([
                Value::Integer(i64::from(req.player_cap)),
                Value::Integer(i64::from(req.track_room_cap)),
            ]);
            (keys, args)
        };
        let reply: Vec<String> = self
            .call("reserve", RESERVE.run(&self.client, call))
            .await?;
        parse_reserve(&reply).map_err(|detail| RedisError::Reply {
            op: "reserve",
            detail,
        })
    }
}

/// Parses the reply of `reserve.lua`.
pub fn parse_reserve(reply: &[String]) -> Result<Result<Granted, Refusal>, String> {
    match reply {
        [
            status,
            room,
            track,
            shard,
            expires_at,
            nonce,
            reused,
            worker,
            url,
            player,
        ] if status == "ok" => Ok(Ok(Granted {
            room: room.clone(),
            track: track.clone(),
            shard: num(shard, "shard")?,
            expires_at: num(expires_at, "expiry")?,
            nonce: nonce.clone(),
            reused: reused == "1",
            worker: worker.clone(),
            url: url.clone(),
            player: player.clone(),
        })),
        [status, code] if status == "err" => match code.as_str() {
            "room_not_found" => Ok(Err(Refusal::RoomNotFound)),
            "room_full" => Ok(Err(Refusal::RoomFull)),
            "shard_unavailable" => Ok(Err(Refusal::ShardUnavailable)),
            "no_capacity" => Ok(Err(Refusal::NoCapacity)),
            "track_room_limit" => Ok(Err(Refusal::TrackRoomLimit)),
            other => Err(format!("unknown refusal {other:?}")),
        },
        [status, code, oldest] if status == "err" && code == "player_limit" => {
            Ok(Err(Refusal::PlayerLimit {
                oldest_expires_at: num::<f64>(oldest, "expiry")?.max(0.0) as u64,
            }))
        }
        other => Err(format!("unexpected reply of {} items", other.len())),
    }
}
