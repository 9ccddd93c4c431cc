//! The calls a reservation is made of, one script in one slot each, and the parsing of
//! their replies: place (the track's index), grant (the room), claim (the set's shard
//! slot, for a new room) and the player's cap.

use super::{CLAIM, GRANT, NewRoom, OPENED, PLACE, PLAYER, RedisError, ShardArgs, Store, num};
use fred::bytes_utils::Str;
use fred::interfaces::KeysInterface;
use fred::types::{Key, Value};
use roomshard_protocol::seats::{IndexOutcome, RoomSeats};
use roomshard_runtime::seat_index;

/// What place.lua chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The room to try, and its shard; `None` when no room of the track has a seat.
    pub pick: Option<(String, u32)>,
    /// No room has a seat and the track has its cap of rooms.
    pub limit: bool,
    /// No room has a seat, and another request is opening one.
    pub wait: bool,
    /// Rooms whose free count may be out of date, to be read again.
    pub due: Vec<String>,
}

/// Parses the reply of place.lua.
pub fn parse_place(reply: &[String]) -> Result<Placed, String> {
    let [kind, room, shard, due @ ..] = reply else {
        return Err(format!("a placement reply of {} items", reply.len()));
    };
    let (pick, limit) = match kind.as_str() {
        "pick" => (Some((room.clone(), num(shard, "shard")?)), false),
        "none" => (None, false),
        "wait" => {
            return Ok(Placed {
                pick: None,
                limit: false,
                wait: true,
                due: due.to_vec(),
            });
        }
        "limit" => (None, true),
        other => return Err(format!("unknown placement {other:?}")),
    };
    Ok(Placed {
        pick,
        limit,
        wait: false,
        due: due.to_vec(),
    })
}

/// How long a placement's hold counts: a reservation's lifetime, and the lease of a room
/// handed out to be read again.
#[derive(Debug, Clone, Copy)]
pub struct PlaceTimes {
    pub ttl_ms: u64,
    pub lease_ms: u64,
}

/// What a placement that finds no seat says about opening a room: the request's nonce,
/// how long its opening may last (0: open without waiting for others' openings), the seats
/// of a room it would open, and how long it counts as waiting between two looks.
#[derive(Debug, Clone, Copy)]
pub struct Asking<'a> {
    pub nonce: &'a str,
    pub opening_ms: u64,
    pub seats: u32,
    pub waiting_ms: u64,
}

/// Why grant.lua refused a seat of a room that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    RoomFull,
    /// The room's shard is not among those the caller may place on.
    ShardUnavailable,
    /// The room's worker drains (it marked the room so).
    Draining,
}

/// What grant.lua answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantReply {
    Granted {
        track: String,
        /// The placement index the room reports to (its track's or its metadata's).
        index: String,
        shard: u32,
        expires_at: u64,
        worker: String,
        url: String,
        /// The room's seats after the grant.
        seats: RoomSeats,
    },
    Refused {
        why: GrantRefusal,
        /// The placement index the room reports to.
        index: String,
        seats: RoomSeats,
    },
    NotFound,
}

/// Parses the reply of grant.lua.
pub fn parse_grant(reply: &[String]) -> Result<GrantReply, String> {
    match reply {
        [ok, track, index, shard, expires_at, worker, url, tail @ ..] if ok == "ok" => {
            Ok(GrantReply::Granted {
                track: track.clone(),
                index: index.clone(),
                shard: num(shard, "shard")?,
                expires_at: num(expires_at, "expiry")?,
                worker: worker.clone(),
                url: url.clone(),
                seats: RoomSeats::parse(shard, tail)?,
            })
        }
        [err, code] if err == "err" && code == "room_not_found" => Ok(GrantReply::NotFound),
        [err, code, index, shard, tail @ ..] if err == "err" => {
            let why = match code.as_str() {
                "room_full" => GrantRefusal::RoomFull,
                "shard_unavailable" => GrantRefusal::ShardUnavailable,
                "draining" => GrantRefusal::Draining,
                other => return Err(format!("unknown refusal {other:?}")),
            };
            Ok(GrantReply::Refused {
                why,
                index: index.clone(),
                seats: RoomSeats::parse(shard, tail)?,
            })
        }
        other => Err(format!("a grant reply of {} items", other.len())),
    }
}

/// A new room to open with the grant: its track, shard and seats, the placement index it
/// joins, and its metadata.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub track: &'a str,
    pub shard: u32,
    pub seats: u32,
    pub index: &'a str,
    /// The stored form, `""` for none.
    pub metadata: &'a str,
    pub private: bool,
}

/// One seat to grant: the room, the reservation's nonce, lifetime and player.
#[derive(Debug, Clone, Copy)]
pub struct Seat<'a> {
    pub room: &'a str,
    pub nonce: &'a str,
    pub ttl_ms: u64,
    pub player: &'a str,
}

fn text(s: &str) -> Value {
    Value::String(Str::from(s))
}

fn int(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn reply_error(op: &'static str) -> impl Fn(String) -> RedisError {
    move |detail| RedisError::Reply { op, detail }
}

impl Store {
    /// Picks the fullest room of `track` with a seat on one of `shards`, holding the seat
    /// in the index. With no seat, the request under `nonce` opens the next room (holding
    /// the track's opening for `opening_ms`) unless another request is opening one.
    pub(super) async fn place(
        &self,
        track: &str,
        shards: &ShardArgs,
        times: PlaceTimes,
        room_cap: u32,
        asking: Asking<'_>,
    ) -> Result<Placed, RedisError> {
        let index = self.keys.track_index(track);
        let PlaceTimes { ttl_ms, lease_ms } = times;
        let call = || {
            let mut keys: Vec<Key> = index.all().into_iter().map(Key::from).collect();
            keys.extend([index.openings.as_str(), index.waiting.as_str()].map(Key::from));
            let mut args = Vec::with_capacity(8 + shards.exclusions().len());
            args.extend([
                int(ttl_ms),
                int(lease_ms),
                Value::Integer(DUE_BATCH),
                Value::Integer(i64::from(room_cap)),
            ]);
            args.extend(shards.exclusions().iter().cloned());
            args.extend([
                Value::from(asking.nonce),
                int(asking.opening_ms),
                Value::Integer(i64::from(asking.seats)),
                int(asking.waiting_ms),
            ]);
            (keys, args)
        };
        let reply: Vec<String> = self.call("place", PLACE.run(&self.client, call)).await?;
        parse_place(&reply).map_err(reply_error("place"))
    }

    /// Ends the opening of `track`'s next room that the request under `nonce` holds.
    pub(super) async fn opened(&self, track: &str, nonce: &str) -> Result<(), RedisError> {
        let key = self.keys.track_index(track).openings;
        let call = || (vec![Key::from(key.as_str())], vec![Value::from(nonce)]);
        let _: i64 = self.call("opened", OPENED.run(&self.client, call)).await?;
        Ok(())
    }

    /// Grants `seat` in its room (opening the room first for `opening`), if the room has
    /// one and its shard is among `shards`.
    pub(super) async fn grant(
        &self,
        seat: Seat<'_>,
        opening: Option<Opening<'_>>,
        shards: &ShardArgs,
    ) -> Result<GrantReply, RedisError> {
        let call = || {
            let keys = vec![
                Key::from(self.keys.room(seat.room)),
                Key::from(self.keys.room_reservations(seat.room)),
                Key::from(self.keys.reservation(seat.room, seat.nonce)),
            ];
            let mut args = Vec::with_capacity(11 + shards.triples().len());
            args.extend([
                text(seat.room),
                text(seat.nonce),
                int(seat.ttl_ms),
                text(seat.player),
            ]);
            match opening {
                Some(o) => args.extend([
                    text("1"),
                    text(o.track),
                    Value::Integer(i64::from(o.shard)),
                    Value::Integer(i64::from(o.seats)),
                    text(o.index),
                    text(o.metadata),
                    text(if o.private { "1" } else { "0" }),
                ]),
                None => args.extend([
                    text("0"),
                    text(""),
                    text(""),
                    text(""),
                    text(""),
                    text(""),
                    text("0"),
                ]),
            }
            args.extend(shards.triples().iter().cloned());
            (keys, args)
        };
        let reply: Vec<String> = self.call("grant", GRANT.run(&self.client, call)).await?;
        parse_grant(&reply).map_err(reply_error("grant"))
    }

    /// Claims a slot for a new room on the least-loaded candidate that may take one;
    /// `None` when none may.
    pub(super) async fn claim(
        &self,
        candidates: &[NewRoom],
    ) -> Result<Option<(u32, String)>, RedisError> {
        if candidates.is_empty() {
            return Ok(None);
        }
        let call = || {
            let mut keys = vec![
                Key::from(self.keys.draining()),
                Key::from(self.keys.rooms()),
            ];
            let mut args = vec![Value::Integer(candidates.len() as i64)];
            for c in candidates {
                keys.push(Key::from(self.keys.shard(c.shard)));
                keys.push(Key::from(self.keys.shard_rooms(c.shard)));
                args.extend([
                    Value::Integer(i64::from(c.shard)),
                    text(&c.room),
                    Value::Integer(i64::from(c.rooms_per_shard)),
                ]);
            }
            (keys, args)
        };
        let reply: Vec<String> = self.call("claim", CLAIM.run(&self.client, call)).await?;
        match reply.as_slice() {
            [] => Ok(None),
            [shard, room] => Ok(Some((
                num(shard, "shard").map_err(reply_error("claim"))?,
                room.clone(),
            ))),
            other => Err(reply_error("claim")(format!(
                "a claim reply of {} items",
                other.len()
            ))),
        }
    }

    /// Gives back a claimed slot and removes the room opened in it: a new room the track's
    /// cap turned out to refuse.
    pub(super) async fn abandon(
        &self,
        shard: u32,
        room: &str,
        nonce: &str,
    ) -> Result<(), RedisError> {
        self.call(
            "abandon",
            self.client.del::<i64, _>(vec![
                self.keys.room(room),
                self.keys.room_reservations(room),
                self.keys.reservation(room, nonce),
            ]),
        )
        .await?;
        let shard_slot = self.client.pipeline();
        let removals = async {
            use fred::interfaces::{SetsInterface, SortedSetsInterface};
            shard_slot
                .srem::<(), _, _>(self.keys.shard_rooms(shard), room)
                .await?;
            shard_slot.zrem::<(), _, _>(self.keys.rooms(), room).await?;
            shard_slot.all::<Value>().await
        };
        self.call("abandon", removals).await.map(drop)
    }

    /// Counts one more reservation of `player` unless it holds `cap`; `Err(oldest expiry)`
    /// when it does.
    pub(super) async fn hold_for_player(
        &self,
        player: &str,
        nonce: &str,
        ttl_ms: u64,
        cap: u32,
    ) -> Result<Result<(), u64>, RedisError> {
        let key = self.keys.player_reservations(player);
        let call = || {
            (
                vec![Key::from(key.as_str())],
                vec![
                    text("hold"),
                    text(nonce),
                    int(ttl_ms),
                    Value::Integer(i64::from(cap)),
                ],
            )
        };
        let reply: Vec<String> = self.call("player", PLAYER.run(&self.client, call)).await?;
        match reply.as_slice() {
            [ok] if ok == "ok" => Ok(Ok(())),
            [full, oldest] if full == "full" => Ok(Err(num::<f64>(oldest, "expiry")
                .map_err(reply_error("player"))?
                .max(0.0) as u64)),
            other => Err(reply_error("player")(format!(
                "a player reply of {} items",
                other.len()
            ))),
        }
    }

    /// Uncounts a reservation of `player` that was not granted.
    pub(super) async fn release_for_player(
        &self,
        player: &str,
        nonce: &str,
    ) -> Result<(), RedisError> {
        let key = self.keys.player_reservations(player);
        let call = || {
            (
                vec![Key::from(key.as_str())],
                vec![text("release"), text(nonce)],
            )
        };
        self.call("player", PLAYER.run::<Value, _, _>(&self.client, call))
            .await
            .map(drop)
    }

    /// Posts what a room's seats said to its track's index.
    pub(super) async fn post(
        &self,
        track: &str,
        room: &str,
        seats: &RoomSeats,
        room_cap: u32,
    ) -> Result<IndexOutcome, RedisError> {
        self.call(
            "seat_index",
            seat_index::record(&self.client, &self.keys, track, room, seats, room_cap),
        )
        .await
    }

    /// Records that `track` has rooms in the metadata placement index `index`, so listings
    /// of the track find them.
    pub(super) async fn note_metadata_index(
        &self,
        track: &str,
        index: &str,
    ) -> Result<(), RedisError> {
        use fred::interfaces::SetsInterface;
        self.call(
            "metadata_index",
            self.client
                .sadd::<i64, _, _>(self.keys.track_metadata_indices(track), index),
        )
        .await
        .map(drop)
    }

    /// Takes a room that no longer exists out of the placement index `track`.
    pub(super) async fn forget(&self, track: &str, room: &str) -> Result<(), RedisError> {
        self.call(
            "seat_index",
            seat_index::forget(&self.client, &self.keys, track, room, None),
        )
        .await
        .map(drop)
    }

    /// Reads `rooms` of the placement index `track` again and posts what they say (each to
    /// the index it belongs to); the first failure ends it.
    pub(super) async fn refresh(&self, track: &str, rooms: &[String]) -> Result<(), RedisError> {
        for room in rooms {
            seat_index::refresh(&self.client, &self.keys, self.deadline, room, Some(track)).await?;
        }
        Ok(())
    }
}

/// Rooms handed out to be read again per placement.
const DUE_BATCH: i64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn placement_replies_parse() {
        let p = parse_place(&s(&["pick", "r1", "2", "old"])).expect("parses");
        assert_eq!(p.pick, Some(("r1".to_owned(), 2)));
        assert_eq!(p.due, vec!["old".to_owned()]);
        let none = parse_place(&s(&["none", "", ""])).expect("parses");
        assert!(none.pick.is_none() && !none.limit && none.due.is_empty());
        assert!(parse_place(&s(&["limit", "", ""])).expect("parses").limit);
        assert!(parse_place(&s(&["what", "", ""])).is_err());
        assert!(parse_place(&s(&["pick"])).is_err());
    }

    #[test]
    fn grant_replies_parse() {
        let ok = parse_grant(&s(&[
            "ok", "t", "t~x", "1", "99", "w", "u", "3", "10", "99",
        ]))
        .expect("parses");
        assert!(matches!(
            &ok,
            GrantReply::Granted {
                track,
                index,
                shard: 1,
                expires_at: 99,
                seats: RoomSeats { free: 3, .. },
                ..
            } if track == "t" && index == "t~x"
        ));
        let full = parse_grant(&s(&["err", "room_full", "t", "0", "0", "4", "0"])).expect("parses");
        assert!(matches!(
            full,
            GrantReply::Refused {
                why: GrantRefusal::RoomFull,
                ..
            }
        ));
        assert_eq!(
            parse_grant(&s(&["err", "room_not_found"])),
            Ok(GrantReply::NotFound)
        );
        assert!(parse_grant(&s(&["err", "what", "t", "0", "0", "4", "0"])).is_err());
        assert!(parse_grant(&s(&["ok"])).is_err());
    }
}
