//! Records kept in Redis.
//!
//! Each carries a `schema` number so a newer release can read what an older one wrote.
//! Unknown fields are ignored and missing optional fields take defaults, so a rolling
//! upgrade never fails to decode its neighbours' records.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Schema number written by this release.
pub const SCHEMA: u32 = 1;

fn schema_default() -> u32 {
    SCHEMA
}

/// Seats and rooms one shard offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    pub rooms_per_shard: u32,
    pub players_per_room: u32,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            rooms_per_shard: 100,
            players_per_room: 16,
        }
    }
}

/// The heartbeat a worker writes every interval, with a TTL of three intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardHeartbeat {
    #[serde(default = "schema_default")]
    pub schema: u32,
    pub index: u32,
    pub total: u32,
    #[serde(default)]
    pub pod: String,
    #[serde(default)]
    pub url: String,
    /// Software version of the worker.
    #[serde(default)]
    pub version: String,
    /// Start time of the worker process (ms since the epoch).
    #[serde(default)]
    pub started_at: u64,
    /// Heartbeat sequence number, 1 for the registration.
    #[serde(default)]
    pub seq: u64,
    /// When this heartbeat was written (ms since the epoch).
    #[serde(default)]
    pub sent_at: u64,
    #[serde(default)]
    pub interval_ms: u64,
    #[serde(default)]
    pub rooms: u32,
    #[serde(default)]
    pub players: u32,
    #[serde(default)]
    pub capacity: Capacity,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(default)]
    pub draining: bool,
    /// The worker hands its rooms over to the next process of its shard when the operator
    /// replaces it (a rollout), so the operator need not wait for its players to leave.
    #[serde(default)]
    pub handoff: bool,
}

impl ShardHeartbeat {
    /// Decodes a heartbeat as stored, with a clear error for anything else.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let hb: Self = serde_json::from_slice(bytes).map_err(|e| RecordError::Json {
            record: "shard heartbeat",
            detail: e.to_string(),
        })?;
        if hb.total == 0 || hb.index >= hb.total {
            return Err(RecordError::Invalid {
                record: "shard heartbeat",
                detail: format!("index {} is not below total {}", hb.index, hb.total),
            });
        }
        Ok(hb)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a stored record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("{record} is not valid JSON of the expected shape: {detail}")]
    Json {
        record: &'static str,
        detail: String,
    },
    #[error("{record} is inconsistent: {detail}")]
    Invalid {
        record: &'static str,
        detail: String,
    },
    #[error("{record} lacks the field {field:?} or it is not a whole number")]
    Field {
        record: &'static str,
        field: &'static str,
    },
}

/// A room as the registry keeps it (a Redis hash, so scripts can update fields in place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub shard: u32,
    pub track: String,
    pub capacity: u32,
    pub players: u32,
    pub created_at: u64,
}

impl RoomRecord {
    /// Field/value pairs as written with HSET.
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("schema", SCHEMA.to_string()),
            ("shard", self.shard.to_string()),
            ("track", self.track.clone()),
            ("capacity", self.capacity.to_string()),
            ("players", self.players.to_string()),
            ("created_at", self.created_at.to_string()),
        ]
    }

    /// Reads the fields of an HGETALL; unknown fields are ignored.
    pub fn from_fields(fields: &HashMap<String, String>) -> Result<Self, RecordError> {
        let num = |field: &'static str| -> Result<u64, RecordError> {
            fields
                .get(field)
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(RecordError::Field {
                    record: "room",
                    field,
                })
        };
        let small = |field: &'static str| -> Result<u32, RecordError> {
            u32::try_from(num(field)?).map_err(|_| RecordError::Field {
                record: "room",
                field,
            })
        };
        Ok(Self {
            shard: small("shard")?,
            track: fields.get("track").cloned().unwrap_or_default(),
            capacity: small("capacity")?,
            // A worker that never joined anyone may not have written it yet.
            players: small("players").unwrap_or(0),
            created_at: num("created_at").unwrap_or(0),
        })
    }
}

/// A seat held for one player until it is used or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    #[serde(default = "schema_default")]
    pub schema: u32,
    pub nonce: String,
    pub room: String,
    pub track: String,
    pub shard: u32,
    #[serde(default)]
    pub player: String,
    #[serde(default)]
    pub worker: String,
    #[serde(default)]
    pub url: String,
    pub token: String,
    pub expires_at: u64,
}

impl Reservation {
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        serde_json::from_slice(bytes).map_err(|e| RecordError::Json {
            record: "reservation",
            detail: e.to_string(),
        })
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat() -> ShardHeartbeat {
        ShardHeartbeat {
            schema: SCHEMA,
            index: 1,
            total: 3,
            pod: "game-1".into(),
            url: "ws://127.0.0.1:3001".into(),
            version: "0.1.0".into(),
            started_at: 1,
            seq: 2,
            sent_at: 3,
            interval_ms: 2000,
            rooms: 4,
            players: 5,
            capacity: Capacity::default(),
            tracks: vec!["ctf".into()],
            draining: false,
            handoff: false,
        }
    }

    #[test]
    fn heartbeat_round_trips() {
        let hb = heartbeat();
        assert_eq!(ShardHeartbeat::decode(hb.encode().as_bytes()), Ok(hb));
    }

    #[test]
    fn heartbeat_tolerates_unknown_and_missing_fields() {
        let json = r#"{"index":0,"total":2,"future_field":{"x":1},"schema":7}"#;
        let hb = ShardHeartbeat::decode(json.as_bytes()).expect("tolerant");
        assert_eq!((hb.index, hb.total, hb.schema), (0, 2, 7));
        assert!(!hb.draining);
        assert_eq!(hb.capacity, Capacity::default());
    }

    #[test]
    fn heartbeat_rejects_garbage_clearly() {
        for bad in [
            &b"not json"[..],
            b"{}",
            br#"{"index":3,"total":3}"#,
            br#"{"index":-1,"total":3}"#,
            b"\xff\xfe",
        ] {
            let err = ShardHeartbeat::decode(bad).expect_err("bad");
            assert!(err.to_string().contains("shard heartbeat"), "{err}");
        }
    }

    #[test]
    fn room_fields_round_trip_and_tolerate_extras() {
        let room = RoomRecord {
            shard: 2,
            track: "ctf".into(),
            capacity: 8,
            players: 3,
            created_at: 99,
        };
        let mut fields: HashMap<String, String> = room
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        fields.insert("added_later".into(), "x".into());
        assert_eq!(RoomRecord::from_fields(&fields), Ok(room));
        fields.insert("shard".into(), "nope".into());
        assert!(RoomRecord::from_fields(&fields).is_err());
    }

    #[test]
    fn reservation_round_trips() {
        let r = Reservation {
            schema: SCHEMA,
            nonce: "n".into(),
            room: "r".into(),
            track: "t".into(),
            shard: 0,
            player: "p".into(),
            worker: "w".into(),
            url: "u".into(),
            token: "tok".into(),
            expires_at: 5,
        };
        assert_eq!(Reservation::decode(r.encode().as_bytes()), Ok(r));
    }
}
