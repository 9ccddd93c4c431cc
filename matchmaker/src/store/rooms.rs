//! The room listing of GET /rooms, and the record of rooms found lost. The names come
//! from the set's rooms, or from a track's placement index and its metadata indices; the
//! seats from each room's own slot, in pipelined round trips. Private rooms are never
//! listed.

use super::{RedisError, Store, num};
use fred::interfaces::{HashesInterface, SetsInterface, SortedSetsInterface};
use fred::types::Value;

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
    /// The stored form of the room's metadata; empty for none.
    pub metadata: String,
}

fn rooms_error(detail: String) -> RedisError {
    RedisError::Reply {
        op: "rooms",
        detail,
    }
}

impl Store {
    /// Rooms of one track, or of the whole set, at most `limit` from `offset` on, and the
    /// offset of the next page if there is one. The set's rooms come in creation order,
    /// a track's in name order; a room listed but gone is skipped.
    pub async fn rooms(
        &self,
        track: Option<&str>,
        limit: usize,
        offset: u64,
    ) -> Result<(Vec<RoomRow>, Option<u64>), RedisError> {
        let limit = limit.max(1);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let mut names: Vec<String> = match track {
            None => {
                let first = i64::try_from(offset).unwrap_or(i64::MAX);
                let last = first.saturating_add(limit as i64);
                self.call(
                    "rooms",
                    self.client
                        .zrange(self.keys.rooms(), first, last, None, false, None, false),
                )
                .await?
            }
            Some(t) => {
                let mut all = self.track_room_names(t).await?;
                all.sort_unstable();
                all.into_iter().skip(start).take(limit + 1).collect()
            }
        };
        let next = (names.len() > limit).then(|| offset.saturating_add(limit as u64));
        names.truncate(limit);
        if names.is_empty() {
            return Ok((Vec::new(), next));
        }
        let now = roomshard_protocol::now_ms();
        let seats = self.client.pipeline();
        let read = async {
            for room in &names {
                seats
                    .hmget::<(), _, _>(
                        self.keys.room(room),
                        vec![
                            "shard", "track", "capacity", "players", "private", "metadata",
                        ],
                    )
                    .await?;
                seats
                    .zcount::<(), _>(
                        self.keys.room_reservations(room),
                        // Expiries are whole ms: a live one is later than now.
                        (now + 1) as f64,
                        f64::INFINITY,
                    )
                    .await?;
            }
            seats.all::<Vec<Value>>().await
        };
        let lost = self.client.pipeline();
        let read_lost = async {
            for room in &names {
                lost.zscore::<(), _, _>(self.keys.lost_rooms(), room.as_str())
                    .await?;
            }
            lost.all::<Vec<Value>>().await
        };
        let (seats, lost) =
            tokio::try_join!(self.call("rooms", read), self.call("rooms", read_lost))?;
        let mut flat = Vec::with_capacity(names.len() * 8);
        let mut seats = seats.into_iter();
        let mut lost = lost.into_iter();
        for room in names {
            let fields: Vec<Option<String>> = seats
                .next()
                .map(|v| v.convert())
                .transpose()
                .map_err(|e| rooms_error(e.to_string()))?
                .unwrap_or_default();
            let reserved = seats
                .next()
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
                .to_string();
            let was_lost = lost.next().is_some_and(|v| !v.is_null());
            let [Some(shard), track, capacity, players, private, metadata] = fields.as_slice()
            else {
                continue;
            };
            if private.as_deref() == Some("1") {
                continue;
            }
            flat.extend([
                room,
                shard.clone(),
                track.clone().unwrap_or_default(),
                capacity.clone().unwrap_or_else(|| "0".to_owned()),
                players.clone().unwrap_or_else(|| "0".to_owned()),
                reserved,
                if was_lost { "1" } else { "0" }.to_owned(),
                metadata.clone().unwrap_or_default(),
            ]);
        }
        Ok((parse_rooms(&flat).map_err(rooms_error)?, next))
    }

    /// Every room of `track`: those of its placement index and of each of its metadata
    /// indices (an index found empty is dropped from the track's list).
    async fn track_room_names(&self, track: &str) -> Result<Vec<String>, RedisError> {
        let listed = self.keys.track_metadata_indices(track);
        let indices: Vec<String> = self
            .call("rooms", self.client.smembers(listed.as_str()))
            .await?;
        let mut all: Vec<String> = self
            .call("rooms", self.client.smembers(self.keys.track_rooms(track)))
            .await?;
        for index in indices {
            let rooms: Vec<String> = self
                .call("rooms", self.client.smembers(self.keys.track_rooms(&index)))
                .await?;
            if rooms.is_empty() {
                // Best effort: a room opened there since lists it again.
                let _ = self
                    .call(
                        "rooms",
                        self.client.srem::<i64, _, _>(listed.as_str(), index),
                    )
                    .await;
            }
            all.extend(rooms);
        }
        Ok(all)
    }

    /// The shard of `room` and whether it was recorded lost; `None` for a room the
    /// registry does not hold (never opened, or closed).
    pub async fn room_owner(&self, room: &str) -> Result<Option<(u32, bool)>, RedisError> {
        let (shard, lost): (Option<String>, Option<f64>) = tokio::try_join!(
            self.call("room", self.client.hget(self.keys.room(room), "shard")),
            self.call("room", self.client.zscore(self.keys.lost_rooms(), room)),
        )?;
        shard
            .map(|s| num(&s, "shard").map(|n| (n, lost.is_some())))
            .transpose()
            .map_err(rooms_error)
    }

    /// Records rooms whose shard stopped beating (first sighting wins).
    pub async fn mark_lost(&self, rooms: &[String], now_ms: u64) -> Result<(), RedisError> {
        if rooms.is_empty() {
            return Ok(());
        }
        let score = now_ms as f64;
        let values: Vec<(f64, String)> = rooms.iter().map(|r| (score, r.clone())).collect();
        self.call(
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

/// Parses rooms flattened as octets: room, shard, track, capacity, players, reserved,
/// lost, metadata.
pub fn parse_rooms(flat: &[String]) -> Result<Vec<RoomRow>, String> {
    if !flat.len().is_multiple_of(8) {
        return Err(format!(
            "{} items is not a whole number of rooms",
            flat.len()
        ));
    }
    flat.chunks_exact(8)
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
                metadata: r[7].clone(),
            })
        })
        .collect()
}
