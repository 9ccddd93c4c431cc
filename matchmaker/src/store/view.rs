//! The shard view read: every registered shard's heartbeat, how long its record has left,
//! its last beat and room count, and the draining set. All of it lives in the set's shard
//! slot; it is read in two pipelined round trips (the shards first, then their records).

use super::{RedisError, Store, num};
use crate::placement::ShardReport;
use fred::interfaces::{KeysInterface, SetsInterface, SortedSetsInterface};
use fred::types::Value;
use roomshard_protocol::records::ShardHeartbeat;

/// A heartbeat that could not be decoded (reported, then treated as absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub shard: u32,
    pub detail: String,
}

fn text_of(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.as_string().unwrap_or_default(),
    }
}

impl Store {
    /// Every registered shard, plus the heartbeats that could not be decoded.
    pub async fn shard_reports(&self) -> Result<(Vec<ShardReport>, Vec<BadRecord>), RedisError> {
        let listing = self.client.pipeline();
        let listed = async {
            listing
                .zrange::<(), _, _, _>(self.keys.shards(), 0, -1, None, false, None, true)
                .await?;
            listing.smembers::<(), _>(self.keys.draining()).await?;
            listing.all::<Vec<Value>>().await
        };
        let mut replies = self.call("view", listed).await?.into_iter();
        let shards: Vec<String> = replies
            .next()
            .map(|v| v.convert::<Vec<String>>())
            .transpose()
            .map_err(|e| view_error(e.to_string()))?
            .unwrap_or_default();
        let draining: Vec<String> = replies
            .next()
            .map(|v| v.convert::<Vec<String>>())
            .transpose()
            .map_err(|e| view_error(e.to_string()))?
            .unwrap_or_default();
        let pairs: Vec<(&String, &String)> = shards
            .chunks_exact(2)
            .map(|pair| (&pair[0], &pair[1]))
            .collect();
        let mut flat = vec![pairs.len().to_string()];
        if !pairs.is_empty() {
            let records = self.client.pipeline();
            let read = async {
                for (index, _) in &pairs {
                    let i: u32 = index.parse().unwrap_or(u32::MAX);
                    records.get::<(), _>(self.keys.shard(i)).await?;
                    records.pttl::<(), _>(self.keys.shard(i)).await?;
                    records.scard::<(), _>(self.keys.shard_rooms(i)).await?;
                }
                records.all::<Vec<Value>>().await
            };
            let mut values = self.call("view", read).await?.into_iter();
            for (index, last_seen) in pairs {
                flat.extend([index.clone(), last_seen.clone()]);
                for _ in 0..3 {
                    flat.push(values.next().map(text_of).unwrap_or_default());
                }
            }
        }
        flat.extend(draining);
        parse_view(&flat).map_err(view_error)
    }
}

fn view_error(detail: String) -> RedisError {
    RedisError::Reply { op: "view", detail }
}

/// Parses the shard view, flattened: N, then N quintuples (index, last seen, heartbeat
/// JSON or '', the record's PTTL, room count), then the members of the draining set.
pub fn parse_view(flat: &[String]) -> Result<(Vec<ShardReport>, Vec<BadRecord>), String> {
    let n: usize = num(
        flat.first().map(String::as_str).unwrap_or(""),
        "shard count",
    )?;
    let end = 1 + n.checked_mul(5).ok_or("shard count overflows")?;
    if flat.len() < end {
        return Err(format!("{} items for {n} shards", flat.len()));
    }
    let draining: Vec<&str> = flat[end..].iter().map(String::as_str).collect();
    let mut reports = Vec::with_capacity(n);
    let mut bad = Vec::new();
    for q in flat[1..end].chunks_exact(5) {
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
        // -2: no record; -1: a record without expiry (written by hand), trusted as is.
        let heartbeat_ttl_ms = match q[3].parse::<i64>() {
            Ok(ttl) if ttl >= 0 => Some(ttl.unsigned_abs()),
            Ok(-1) => Some(u64::MAX),
            _ => None,
        }
        .filter(|_| heartbeat.is_some());
        reports.push(ShardReport {
            index,
            heartbeat,
            last_seen_ms,
            heartbeat_ttl_ms,
            rooms: num(&q[4], "room count")?,
            in_draining_set: draining.contains(&q[0].as_str()),
        });
    }
    Ok((reports, bad))
}
