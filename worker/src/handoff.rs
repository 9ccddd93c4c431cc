//! Handing a shard's rooms to the next process of the shard.
//!
//! When the operator replaces a shard's pod (a rollout marks the shard in the set's
//! `replacing` set), the worker does not drain on SIGTERM. It writes every room it hosts,
//! with its players (public id, profile, resume nonce, position, entity state) and the
//! room's event log, to the shard's `handoff` key, which expires with the resume window.
//! It tells every client `migrate` and closes its connection, keeping the seats counted.
//! The next process of the shard takes the record (GETDEL: once) before it accepts a
//! connection, hosts the rooms again with every player held as away, and honours the
//! earlier process's resume credentials. Each client connects again (to the same shard
//! URL) and resumes as after any dropped connection: same id, same room, its position,
//! and the room events it missed. A player that does not come back within the window
//! leaves as an away player does.
//!
//! The record is written by one release and read by the next: it carries a version, and
//! a record that does not decode is dropped with a warning (those players are then
//! refused with `resume_expired` and reserve again).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Record format written by this release.
pub const HANDOFF_VERSION: u32 = 1;
/// The largest record a process takes over; a larger one is dropped.
pub const MAX_HANDOFF_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub v: u32,
    /// The epoch of the process that wrote it (its credentials name it).
    pub epoch: String,
    pub rooms: Vec<HandedRoom>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedRoom {
    pub room: String,
    pub track: String,
    pub last_seq: u64,
    /// The room events kept for replay, oldest first: `(seq, event, data)`.
    #[serde(default)]
    pub events: Vec<(u64, String, Value)>,
    pub players: Vec<HandedPlayer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedPlayer {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub metadata: Option<Value>,
    /// The nonce its current credential carries.
    pub nonce: String,
    pub x: f32,
    pub y: f32,
    #[serde(default)]
    pub state: Value,
}

impl Handoff {
    /// Decodes a record, with the reason it is unusable.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_HANDOFF_BYTES {
            return Err(format!("{} bytes is over {MAX_HANDOFF_BYTES}", bytes.len()));
        }
        let h: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if h.v != HANDOFF_VERSION {
            return Err(format!(
                "version {} (this release reads {HANDOFF_VERSION})",
                h.v
            ));
        }
        let finite = |p: &HandedPlayer| p.x.is_finite() && p.y.is_finite();
        if h.rooms.iter().any(|r| !r.players.iter().all(finite)) {
            return Err("a position is not a finite number".into());
        }
        Ok(h)
    }

    pub fn players(&self) -> usize {
        self.rooms.iter().map(|r| r.players.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Handoff {
        Handoff {
            v: HANDOFF_VERSION,
            epoch: "e1".into(),
            rooms: vec![HandedRoom {
                room: "r1".into(),
                track: "default".into(),
                last_seq: 3,
                events: vec![(3, "said".into(), json!({"text": "hi", "seq": 3}))],
                players: vec![HandedPlayer {
                    id: "p1".into(),
                    name: "ann".into(),
                    subject: None,
                    metadata: Some(json!({"team": "red"})),
                    nonce: "n1".into(),
                    x: 10.5,
                    y: 20.0,
                    state: json!({"hp": 3}),
                }],
            }],
        }
    }

    #[test]
    fn a_record_round_trips() {
        let bytes = serde_json::to_vec(&record()).expect("json");
        assert_eq!(Handoff::decode(&bytes), Ok(record()));
        assert_eq!(record().players(), 1);
    }

    #[test]
    fn records_of_another_version_or_shape_are_refused() {
        let mut other = record();
        other.v = 2;
        let bytes = serde_json::to_vec(&other).expect("json");
        assert!(Handoff::decode(&bytes).is_err_and(|e| e.contains("version 2")));
        assert!(Handoff::decode(b"{}").is_err());
        assert!(Handoff::decode(b"not json").is_err());
        let nan = serde_json::to_vec(&record())
            .map(|b| String::from_utf8_lossy(&b).replace("10.5", "1e999"))
            .expect("json");
        assert!(Handoff::decode(nan.as_bytes()).is_err());
    }
}
