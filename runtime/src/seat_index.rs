//! The placement index of a track, kept by the worker and the matchmaker alike
//! (`roomshard_protocol::seats` says what it holds). Whoever changes a room's seats posts
//! what they became with [`record`]; a room found closed is taken out with [`forget`];
//! [`refresh`] reads a room again and posts it, which is how a stale entry heals.

use crate::lua::LuaScript;
use crate::redis::{RedisError, within};
use fred::clients::Client;
use fred::error::{Error, ErrorKind};
use roomshard_protocol::Keys;
use roomshard_protocol::seats::{
    INDEX_LUA, IndexOutcome, LEDGER_LUA, RoomSeats, TRUTH_LUA, forget_args, parse_truth,
};
use std::time::Duration;

pub static INDEX: LuaScript = LuaScript::new("seat_index", INDEX_LUA);
pub static TRUTH: LuaScript = LuaScript::with_prelude("room_truth", LEDGER_LUA, TRUTH_LUA);

fn bad_reply(detail: String) -> Error {
    Error::new(ErrorKind::Parse, detail)
}

async fn run_index(
    client: &Client,
    keys: &Keys,
    track: &str,
    args: Vec<String>,
) -> Result<IndexOutcome, Error> {
    let index = keys.track_index(track);
    let names: Vec<String> = index.all().map(str::to_owned).to_vec();
    let reply: String = INDEX.run(client, || (names.clone(), args.clone())).await?;
    IndexOutcome::parse(&reply).map_err(bad_reply)
}

/// Posts `seats` of `room` to the index of `track`. `room_cap` (0: none) refuses a room new
/// to the track once the track has that many.
pub async fn record(
    client: &Client,
    keys: &Keys,
    track: &str,
    room: &str,
    seats: &RoomSeats,
    room_cap: u32,
) -> Result<IndexOutcome, Error> {
    run_index(client, keys, track, seats.index_args(room, room_cap)).await
}

/// Takes `room` out of the index of `track`, unless a report newer than `version` is kept.
pub async fn forget(
    client: &Client,
    keys: &Keys,
    track: &str,
    room: &str,
    version: Option<u64>,
) -> Result<IndexOutcome, Error> {
    run_index(client, keys, track, forget_args(room, version)).await
}

/// Reads the seats of `room` (dropping expired reservations): `None` when it is gone.
pub async fn read_room(
    client: &Client,
    keys: &Keys,
    room: &str,
) -> Result<Option<(String, RoomSeats)>, Error> {
    let names = vec![keys.room(room), keys.room_reservations(room)];
    let reply: Vec<String> = TRUTH
        .run(client, || (names.clone(), Vec::<String>::new()))
        .await?;
    parse_truth(&reply).map_err(bad_reply)
}

/// What [`refresh`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The room lives; its seats are posted to its track's index.
    Posted { track: String, seats: RoomSeats },
    /// The room is gone; `track`'s index (when given) no longer names it.
    Gone,
}

/// Reads `room` again and posts what its seats say to its track's index; a room that is
/// gone is taken out of `track`'s index, when the caller knows the track. Each of the two
/// calls runs under `deadline`.
pub async fn refresh(
    client: &Client,
    keys: &Keys,
    deadline: Duration,
    room: &str,
    track: Option<&str>,
) -> Result<Refreshed, RedisError> {
    match within(deadline, "room_truth", read_room(client, keys, room)).await? {
        Some((track, seats)) => {
            within(
                deadline,
                "seat_index",
                record(client, keys, &track, room, &seats, 0),
            )
            .await?;
            Ok(Refreshed::Posted { track, seats })
        }
        None => {
            if let Some(track) = track {
                within(
                    deadline,
                    "seat_index",
                    forget(client, keys, track, room, None),
                )
                .await?;
            }
            Ok(Refreshed::Gone)
        }
    }
}
