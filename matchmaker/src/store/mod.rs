//! The Redis boundary: every read and write of the matchmaker goes through [`Store`], each
//! under a deadline. Callers see domain values and [`RedisError`], never Redis types, so
//! another store (e.g. in-process, for development) can sit behind the same methods.
//! The scripts are the `.lua` files beside this one.

use crate::placement::ShardReport;
use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::interfaces::{ClientLike, SortedSetsInterface};
use fred::types::{Key, Value};
use roomshard_protocol::Keys;
use roomshard_protocol::records::ShardHeartbeat;
use roomshard_runtime::lua::LuaScript;
use roomshard_runtime::redis::{ClientOptions, RedisError, within};
use std::sync::Arc;
use std::time::Duration;

pub static RESERVE: LuaScript = LuaScript::new("reserve", include_str!("reserve.lua"));
pub static VIEW: LuaScript = LuaScript::new("view", include_str!("view.lua"));
pub static ROOMS: LuaScript = LuaScript::new("rooms", include_str!("rooms.lua"));

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
}

/// A room as listed by GET /rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub room: String,
    pub shard: u32,
    pub track: String,
    pub capacity: u32,
    pub players: u32,
    pub reserved: u32,
    pub lost: bool,
}

/// A heartbeat that could not be decoded (reported, then treated as absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub shard: u32,
    pub detail: String,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    keys: Keys,
    deadline: Duration,
    prefix: Str,
    draining: Key,
}

impl Store {
    /// Starts connecting in the background; calls fail with a timeout until Redis answers,
    /// so the process starts (and reports not ready) while Redis is away.
    pub fn connect(url: &str, keys: Keys, deadline: Duration) -> Result<Self, RedisError> {
        let options = ClientOptions {
            connect_timeout: deadline.max(Duration::from_millis(250)),
            // A command is sent once: replaying a reserve after a reconnect could hold a
            // seat nobody receives.
            max_command_attempts: 1,
            unresponsive_after: Some(deadline.saturating_mul(4).max(Duration::from_secs(1))),
            // Commands wait for a reconnection (within their deadline) instead of failing
            // at once.
            fail_fast: false,
            reconnect_delays_ms: (50, 1_000),
            ..ClientOptions::new(deadline)
        };
        let client = options.connect_in_background(url)?;
        Ok(Self {
            client,
            prefix: Str::from(keys.prefix()),
            draining: Key::from(keys.draining()),
            keys,
            deadline,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The deadline of every call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        within(self.deadline, "ping", self.client.ping::<String>(None))
            .await
            .map(|_| ())
    }

    /// Every registered shard, plus the heartbeats that could not be decoded.
    pub async fn shard_reports(&self) -> Result<(Vec<ShardReport>, Vec<BadRecord>), RedisError> {
        let call = || {
            (
                vec![Key::from(self.keys.shards()), self.draining.clone()],
                vec![Value::String(self.prefix.clone())],
            )
        };
        let flat: Vec<String> = within(self.deadline, "view", VIEW.run(&self.client, call)).await?;
        parse_view(&flat).map_err(|detail| RedisError::Reply { op: "view", detail })
    }

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
            let mut args = Vec::with_capacity(8 + eligible.len() + 4 * req.new_rooms.len());
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
            (keys, args)
        };
        let reply: Vec<String> =
            within(self.deadline, "reserve", RESERVE.run(&self.client, call)).await?;
        parse_reserve(&reply).map_err(|detail| RedisError::Reply {
            op: "reserve",
            detail,
        })
    }

    /// Rooms of one track, or of the whole set, at most `limit`.
    pub async fn rooms(
        &self,
        track: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RoomRow>, RedisError> {
        let (source, kind) = match track {
            Some(t) => (self.keys.track_rooms(t), "set"),
            None => (self.keys.rooms(), "zset"),
        };
        let call = || {
            (
                vec![
                    Key::from(source.as_str()),
                    Key::from(self.keys.lost_rooms()),
                ],
                vec![
                    Value::String(self.prefix.clone()),
                    Value::from(kind),
                    Value::Integer(limit.max(1) as i64),
                ],
            )
        };
        let flat: Vec<String> =
            within(self.deadline, "rooms", ROOMS.run(&self.client, call)).await?;
        parse_rooms(&flat).map_err(|detail| RedisError::Reply {
            op: "rooms",
            detail,
        })
    }

    /// Records rooms whose shard stopped beating (first sighting wins).
    pub async fn mark_lost(&self, rooms: &[String], now_ms: u64) -> Result<(), RedisError> {
        if rooms.is_empty() {
            return Ok(());
        }
        let score = now_ms as f64;
        let values: Vec<(f64, String)> = rooms.iter().map(|r| (score, r.clone())).collect();
        within(
            self.deadline,
            "mark_lost",
            self.client.zadd::<i64, _, _>(
                self.keys.lost_rooms(),
                Some(fred::types::SetOptions::NX),
                None,
                false,
                false,
                values,
            ),
        )
        .await
        .map(|_| ())
    }
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse::<T>()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}

/// Parses the flat reply of `view.lua`.
pub fn parse_view(flat: &[String]) -> Result<(Vec<ShardReport>, Vec<BadRecord>), String> {
    let n: usize = num(
        flat.first().map(String::as_str).unwrap_or(""),
        "shard count",
    )?;
    let quads_end = 1 + n.checked_mul(4).ok_or("shard count overflows")?;
    if flat.len() < quads_end {
        return Err(format!("{} items for {n} shards", flat.len()));
    }
    let draining: Vec<&str> = flat[quads_end..].iter().map(String::as_str).collect();
    let mut reports = Vec::with_capacity(n);
    let mut bad = Vec::new();
    for q in flat[1..quads_end].chunks_exact(4) {
        let Ok(index) = q[0].parse::<u32>() else {
            // A member that is not an index cannot name a shard; skip it.
            continue;
        };
        let last_seen_ms = q[1].parse::<f64>().map(|v| v.max(0.0) as u64).unwrap_or(0);
        let heartbeat = if q[2].is_empty() {
            None
        } else {
            match ShardHeartbeat::decode(q[2].as_bytes()) {
                Ok(hb) => Some(hb),
                Err(e) => {
                    bad.push(BadRecord {
                        shard: index,
                        detail: e.to_string(),
                    });
                    None
                }
            }
        };
        reports.push(ShardReport {
            index,
            heartbeat,
            last_seen_ms,
            rooms: num(&q[3], "room count")?,
            in_draining_set: draining.contains(&q[0].as_str()),
        });
    }
    Ok((reports, bad))
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
            other => Err(format!("unknown refusal {other:?}")),
        },
        other => Err(format!("unexpected reply of {} items", other.len())),
    }
}

/// Parses the flat reply of `rooms.lua`.
pub fn parse_rooms(flat: &[String]) -> Result<Vec<RoomRow>, String> {
    if !flat.len().is_multiple_of(7) {
        return Err(format!(
            "{} items is not a whole number of rooms",
            flat.len()
        ));
    }
    flat.chunks_exact(7)
        .map(|r| {
            Ok(RoomRow {
                room: r[0].clone(),
                shard: num(&r[1], "shard")?,
                track: r[2].clone(),
                capacity: num(&r[3], "capacity")?,
                players: r[4]
                    .parse::<i64>()
                    .map(|p| p.clamp(0, i64::from(u32::MAX)) as u32)
                    .unwrap_or(0),
                reserved: num(&r[5], "reserved")?,
                lost: r[6] == "1",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn view_reply_parses_and_reports_bad_heartbeats() {
        let hb = r#"{"index":0,"total":2,"pod":"p0"}"#;
        let flat = s(&[
            "3", "0", "1700", hb, "4", "1", "1800", "", "0", "2", "9", "garbage", "1", "1", "2",
        ]);
        let (reports, bad) = parse_view(&flat).expect("parses");
        assert_eq!(reports.len(), 3);
        assert_eq!(
            reports[0].heartbeat.as_ref().map(|h| h.pod.as_str()),
            Some("p0")
        );
        assert_eq!(reports[0].rooms, 4);
        assert_eq!(reports[0].last_seen_ms, 1700);
        assert!(!reports[0].in_draining_set);
        assert!(reports[1].heartbeat.is_none() && reports[1].in_draining_set);
        assert!(reports[2].heartbeat.is_none() && reports[2].in_draining_set);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].shard, 2);
        assert!(parse_view(&s(&["2", "0"])).is_err());
        assert!(parse_view(&s(&[])).is_err());
    }

    #[test]
    fn reserve_reply_parses() {
        let ok =
            parse_reserve(&s(&["ok", "r", "t", "2", "99", "n", "1", "w", "u", "p"])).expect("ok");
        assert_eq!(
            ok.map(|g| (g.shard, g.expires_at, g.reused)),
            Ok((2, 99, true))
        );
        assert_eq!(
            parse_reserve(&s(&["err", "room_full"])),
            Ok(Err(Refusal::RoomFull))
        );
        assert!(parse_reserve(&s(&["err", "what"])).is_err());
        assert!(parse_reserve(&s(&["ok"])).is_err());
    }

    #[test]
    fn rooms_reply_parses() {
        let rows = parse_rooms(&s(&["r1", "0", "t", "8", "-1", "2", "1"])).expect("ok");
        assert_eq!(rows[0].players, 0);
        assert!(rows[0].lost);
        assert!(parse_rooms(&s(&["r1"])).is_err());
    }
}
