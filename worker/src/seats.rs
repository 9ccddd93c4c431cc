//! Seat accounting: turning a reservation (or, in a dev run, a plain request) into a
//! player of a room, a leave back into a free seat, and closing rooms left empty.
//! With Redis it follows docs/REDIS.md ("Join", "Leave", "Close") in one Lua script per
//! step (`seats/*.lua`), each in the room's own slot; what a step did to the room's free
//! seats is then posted to its track's placement index ([`upkeep`]). Without Redis a
//! process-local table stands in for the registry.

mod handoff;
mod restart;
mod upkeep;

use crate::registry::Registry;
use fred::types::Value;
use roomshard_protocol::events::codes;
use roomshard_protocol::seats::{LEDGER_LUA, RoomSeats};
use roomshard_runtime::lua::LuaScript;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::Rejection;

/// A seat script that reaches Redis later than this past the worker's own deadline for it
/// does nothing: the worker has already told the player the join failed. A command held up
/// by a partition is delivered when it heals, long after. Workers' and Redis's clocks are
/// taken to agree within this.
const LATE_SLACK: Duration = Duration::from_secs(2);

static JOIN_RESERVED: LuaScript =
    LuaScript::new("join_reserved", include_str!("seats/join_reserved.lua"));
static JOIN_OPEN: LuaScript =
    LuaScript::with_prelude("join_open", LEDGER_LUA, include_str!("seats/join_open.lua"));
static LEAVE: LuaScript =
    LuaScript::with_prelude("leave", LEDGER_LUA, include_str!("seats/leave.lua"));
static CLOSE: LuaScript = LuaScript::new("close", include_str!("seats/close.lua"));

/// A seat taken: the room's player count after the join, its track, and whether it is
/// the first seat ever taken in the room (the room's `onRoomCreated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub players: u32,
    pub track: String,
    pub first: bool,
}

/// Whether a room can close and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    Gone,
    StillInUse,
}

pub enum Seats {
    Redis(Box<RedisSeats>),
    Memory(MemorySeats),
}

pub struct RedisSeats {
    registry: Registry,
    shard: u32,
    /// How this shard's rooms were last marked: [`upkeep::UNMARKED`] until the first
    /// heartbeat (a process that starts follows the drain state into the rooms whatever an
    /// earlier process of the shard left there), then draining or not.
    marked: std::sync::atomic::AtomicU8,
    /// Heartbeats counted, for the sweep of the placement indices.
    beats: std::sync::atomic::AtomicU32,
    sweeping: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
pub struct MemorySeats {
    /// Players and track of each room.
    rooms: Mutex<HashMap<String, (u32, String)>>,
}

fn unavailable(e: impl std::fmt::Display) -> Rejection {
    tracing::warn!(error = %e, "seat accounting failed");
    Rejection::new(
        codes::UNAVAILABLE,
        "the room registry is unavailable; try again",
    )
}

fn parse_reply(v: Value) -> Option<(i64, i64, String, bool)> {
    let items = texts(v)?;
    let code = items.first()?.parse().ok()?;
    let players = items.get(1)?.parse().ok()?;
    let first = items.get(3).is_some_and(|f| f == "1");
    Some((
        code,
        players,
        items.get(2).cloned().unwrap_or_default(),
        first,
    ))
}

/// A script's reply as text, item by item.
fn texts(v: Value) -> Option<Vec<String>> {
    let Value::Array(items) = v else {
        return None;
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::Null => Some(String::new()),
            other => other.as_string(),
        })
        .collect()
}

fn seat_from(
    (code, players, track, first): (i64, i64, String, bool),
    capacity_hint: &str,
) -> Result<Seat, Rejection> {
    match code {
        1 => Ok(Seat {
            players: u32::try_from(players.max(0)).unwrap_or(u32::MAX),
            track,
            first,
        }),
        -1 => Err(Rejection::new(
            codes::RESERVATION_INVALID,
            "the reservation was already used or has expired; reserve again",
        )),
        -2 => Err(Rejection::new(
            codes::RESERVATION_INVALID,
            "the room no longer exists; reserve again",
        )),
        -3 => Err(Rejection::new(
            codes::WRONG_SHARD,
            "the room is recorded on another shard",
        )),
        -4 => Err(Rejection::new(
            codes::ROOM_FULL,
            format!("the room is full{capacity_hint}"),
        )),
        -5 => Err(unavailable(
            "the join reached the registry after its deadline",
        )),
        -6 => Err(Rejection::new(
            codes::TOKEN_REQUIRED,
            "the room is private: join it with a reservation token from POST /reserve",
        )),
        other => Err(unavailable(format!("unexpected script reply {other}"))),
    }
}

impl RedisSeats {
    pub fn new(registry: Registry, shard: u32) -> Self {
        Self {
            registry,
            shard,
            marked: std::sync::atomic::AtomicU8::new(upkeep::UNMARKED),
            beats: std::sync::atomic::AtomicU32::new(0),
            sweeping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The deadline (ms since the epoch) past which a seat script must not take a seat.
    fn seat_deadline(&self) -> String {
        let budget =
            u64::try_from((self.registry.timeout + LATE_SLACK).as_millis()).unwrap_or(u64::MAX);
        roomshard_protocol::now_ms()
            .saturating_add(budget)
            .to_string()
    }

    /// Closes `room` if it is empty and unreserved, then takes it out of its placement index
    /// and the set's registries. `track` is the room's track or its placement index.
    pub async fn close_if_empty(&self, room: &str, track: &str) -> CloseOutcome {
        let keys = vec![
            self.registry.keys.room(room),
            self.registry.keys.room_reservations(room),
        ];
        let args = vec![
            room.to_owned(),
            roomshard_protocol::now_ms().to_string(),
            self.shard.to_string(),
            track.to_owned(),
        ];
        let reply = self.run(&CLOSE, keys, args).await.ok().and_then(texts);
        match reply.as_deref() {
            Some([closed, version, index]) if closed == "1" => {
                self.closed(room, index, version.parse().ok()).await;
                CloseOutcome::Closed
            }
            Some([gone]) if gone == "0" => CloseOutcome::Gone,
            _ => CloseOutcome::StillInUse,
        }
    }

    async fn run(
        &self,
        script: &LuaScript,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<Value, Rejection> {
        self.registry
            .call(
                script.name,
                script.run(&self.registry.client, || (keys.clone(), args.clone())),
            )
            .await
            .map_err(unavailable)
    }
}

impl Seats {
    /// Uses the reservation `nonce` of `room` (single use).
    pub async fn join_reserved(&self, room: &str, nonce: &str) -> Result<Seat, Rejection> {
        match self {
            Seats::Redis(r) => {
                let keys = vec![
                    r.registry.keys.reservation(room, nonce),
                    r.registry.keys.room_reservations(room),
                    r.registry.keys.room(room),
                ];
                let reply = r
                    .run(
                        &JOIN_RESERVED,
                        keys,
                        vec![nonce.to_owned(), r.shard.to_string(), r.seat_deadline()],
                    )
                    .await?;
                let reply =
                    parse_reply(reply).ok_or_else(|| unavailable("malformed join reply"))?;
                seat_from(reply, "")
            }
            Seats::Memory(_) => Err(Rejection::new(
                codes::UNAVAILABLE,
                "reservations need Redis; this worker runs without it",
            )),
        }
    }

    /// Takes a seat without a reservation (dev runs), creating the room if absent.
    pub async fn join_open(
        &self,
        room: &str,
        track: &str,
        capacity: u32,
    ) -> Result<Seat, Rejection> {
        match self {
            Seats::Redis(r) => {
                let now = roomshard_protocol::now_ms();
                let keys = vec![
                    r.registry.keys.room(room),
                    r.registry.keys.room_reservations(room),
                ];
                let args = vec![
                    room.to_owned(),
                    r.shard.to_string(),
                    track.to_owned(),
                    capacity.to_string(),
                    now.to_string(),
                    r.seat_deadline(),
                ];
                let reply = texts(r.run(&JOIN_OPEN, keys, args).await?)
                    .ok_or_else(|| unavailable("malformed join reply"))?;
                let code = reply.first().and_then(|c| c.parse().ok()).unwrap_or(0);
                let players = reply.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                let seat_track = reply.get(2).cloned().unwrap_or_default();
                let mut first = false;
                if let [_, _, _, opened, started, free, version, expiry, index] = reply.as_slice()
                    && let Ok(seats) = RoomSeats::parse(
                        &r.shard.to_string(),
                        &[free.clone(), version.clone(), expiry.clone()],
                    )
                {
                    first = started == "1";
                    r.opened_or_changed(room, index, &seats, opened == "1", now)
                        .await;
                }
                let reply = (code, players, seat_track, first);
                seat_from(reply, &format!(" ({capacity} seats)"))
            }
            Seats::Memory(m) => {
                let mut rooms = m.rooms.lock().unwrap_or_else(|p| p.into_inner());
                let first = !rooms.contains_key(room);
                let entry = rooms
                    .entry(room.to_owned())
                    .or_insert((0, track.to_owned()));
                if entry.0 >= capacity {
                    return Err(Rejection::new(
                        codes::ROOM_FULL,
                        format!("the room is full ({capacity} seats)"),
                    ));
                }
                entry.0 += 1;
                Ok(Seat {
                    players: entry.0,
                    track: entry.1.clone(),
                    first,
                })
            }
        }
    }

    /// Frees a seat; returns the players left (None when unknown).
    pub async fn leave(&self, room: &str) -> Option<u32> {
        match self {
            Seats::Redis(r) => {
                let keys = vec![
                    r.registry.keys.room(room),
                    r.registry.keys.room_reservations(room),
                ];
                let reply = texts(r.run(&LEAVE, keys, vec![]).await.ok()?)?;
                let players: i64 = reply.first()?.parse().ok()?;
                if let [_, track, shard, tail @ ..] = reply.as_slice()
                    && let Ok(seats) = RoomSeats::parse(shard, tail)
                {
                    r.post(room, track, &seats).await;
                }
                u32::try_from(players).ok()
            }
            Seats::Memory(m) => {
                let mut rooms = m.rooms.lock().unwrap_or_else(|p| p.into_inner());
                let entry = rooms.get_mut(room)?;
                entry.0 = entry.0.saturating_sub(1);
                Some(entry.0)
            }
        }
    }

    /// Removes an empty room from the registry (if it is still empty and unreserved).
    pub async fn close_if_empty(&self, room: &str, track: &str) -> CloseOutcome {
        match self {
            Seats::Redis(r) => r.close_if_empty(room, track).await,
            Seats::Memory(m) => {
                let mut rooms = m.rooms.lock().unwrap_or_else(|p| p.into_inner());
                match rooms.get(room) {
                    Some((0, _)) => {
                        rooms.remove(room);
                        CloseOutcome::Closed
                    }
                    Some(_) => CloseOutcome::StillInUse,
                    None => CloseOutcome::Gone,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_seats_enforce_capacity_and_close() {
        let seats = Seats::Memory(MemorySeats::default());
        assert_eq!(seats.join_open("r", "t", 2).await.map(|s| s.players), Ok(1));
        assert_eq!(seats.join_open("r", "t", 2).await.map(|s| s.players), Ok(2));
        assert_eq!(
            seats.join_open("r", "t", 2).await.map_err(|e| e.code),
            Err(codes::ROOM_FULL)
        );
        assert_eq!(
            seats.close_if_empty("r", "t").await,
            CloseOutcome::StillInUse
        );
        assert_eq!(seats.leave("r").await, Some(1));
        assert_eq!(seats.leave("r").await, Some(0));
        assert_eq!(seats.leave("r").await, Some(0));
        assert_eq!(seats.close_if_empty("r", "t").await, CloseOutcome::Closed);
        assert_eq!(seats.close_if_empty("r", "t").await, CloseOutcome::Gone);
        assert!(seats.join_reserved("r", "n").await.is_err());
    }
}
