//! The shard view read: every registered shard's heartbeat, last beat and room count,
//! and the draining set, in one script run.

use super::{RedisError, Store, VIEW, num};
use crate::placement::ShardReport;
use fred::types::{Key, Value};
use roomshard_protocol::records::ShardHeartbeat;

/// A heartbeat that could not be decoded (reported, then treated as absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub shard: u32,
    pub detail: String,
}

impl Store {
    /// Every registered shard, plus the heartbeats that could not be decoded.
    pub async fn shard_reports(&self) -> Result<(Vec<ShardReport>, Vec<BadRecord>), RedisError> {
        let call = || {
            (
                vec![Key::from(self.keys.shards()), self.draining.clone()],
                vec![Value::String(self.prefix.clone())],
            )
        };
        let flat: Vec<String> = self.call("view", VIEW.run(&self.client, call)).await?;
        parse_view(&flat).map_err(|detail| RedisError::Reply { op: "view", detail })
    }
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
