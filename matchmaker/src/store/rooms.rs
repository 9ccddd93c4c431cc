//! The room listing of GET /rooms, and the record of rooms found lost.

use super::{ROOMS, RedisError, Store, num};
use fred::interfaces::SortedSetsInterface;
use fred::types::{Key, Value};

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

impl Store {
    /// Rooms of one track, or of the whole set, at most `limit` from `offset` on, and the
    /// offset of the next page if there is one.
    pub async fn rooms(
        &self,
        track: Option<&str>,
        limit: usize,
        offset: u64,
    ) -> Result<(Vec<RoomRow>, Option<u64>), RedisError> {
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
                    Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)),
                ],
            )
        };
        let flat: Vec<String> = self.call("rooms", ROOMS.run(&self.client, call)).await?;
        let reply = |detail| RedisError::Reply {
            op: "rooms",
            detail,
        };
        let (next, rows) = flat
            .split_first()
            .ok_or_else(|| reply("an empty reply".to_owned()))?;
        let next = if next.is_empty() {
            None
        } else {
            Some(num::<u64>(next, "next offset").map_err(reply)?)
        };
        Ok((parse_rooms(rows).map_err(reply)?, next))
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
