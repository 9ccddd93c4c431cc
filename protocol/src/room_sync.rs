//! Room sync between workers: the messages on a room's channel
//! ([`SyncChannels`](crate::SyncChannels)).
//!
//! Each worker that hosts players of a room publishes, per tick, the changes of its own
//! entities there, and applies what the others publish to its replica. A worker that starts
//! hosting a room asks the others for a snapshot.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A change of one entity as carried between workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncOp {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f32>,
    /// Present when the entity is new (or renamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The entity's application-defined state, present when it changed (`null`: cleared)
    /// and for a new entity that has one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::events::present"
    )]
    pub state: Option<serde_json::Value>,
    /// The entity left.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

impl SyncOp {
    /// The entity `id` left.
    pub fn gone(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            x: None,
            y: None,
            name: None,
            state: None,
            gone: true,
        }
    }

    /// The entity `id` is at `(x, y)`; `name` when it is new (or renamed).
    pub fn at(id: impl Into<String>, x: f32, y: f32, name: Option<String>) -> Self {
        Self {
            id: id.into(),
            x: Some(x),
            y: Some(y),
            name,
            state: None,
            gone: false,
        }
    }

    /// The same op carrying the entity's state (None: unchanged).
    pub fn with_state(mut self, state: Option<serde_json::Value>) -> Self {
        self.state = state;
        self
    }
}

/// One message on a room's sync channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum SyncMessage {
    /// Changes of the sender's entities since its previous tick (empty: still alive).
    Delta { w: String, ops: Vec<SyncOp> },
    /// The sender started hosting the room: everyone answers with a snapshot.
    SnapshotRequest { w: String },
    /// Every entity the sender owns in the room.
    Snapshot { w: String, ops: Vec<SyncOp> },
    /// A room event (chat, presence, a `room` custom event) for every player of the room:
    /// `e` is the Socket.IO event, `d` its payload without `seq`, which each receiving
    /// worker numbers itself, and `b` the binary attachments `d` holds placeholders of.
    Event {
        w: String,
        e: String,
        d: serde_json::Value,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        b: Vec<Attachment>,
    },
    /// A `nearby` custom event sent by the player `from`: each worker delivers it to its
    /// players whose area of interest holds `from` in its own replica, the one their
    /// views come from.
    Nearby {
        w: String,
        e: String,
        from: String,
        d: serde_json::Value,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        b: Vec<Attachment>,
    },
    /// A `player` custom event for the player `to`, delivered by the worker it is
    /// connected to.
    Direct {
        w: String,
        e: String,
        to: String,
        d: serde_json::Value,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        b: Vec<Attachment>,
    },
}

/// A binary attachment of a relayed event, carried between workers as standard base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment(pub Vec<u8>);

impl Serialize for Attachment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Attachment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Attachment)
            .map_err(serde::de::Error::custom)
    }
}

impl SyncMessage {
    /// The worker that sent the message.
    pub fn sender(&self) -> &str {
        match self {
            SyncMessage::Delta { w, .. }
            | SyncMessage::SnapshotRequest { w }
            | SyncMessage::Snapshot { w, .. }
            | SyncMessage::Event { w, .. }
            | SyncMessage::Nearby { w, .. }
            | SyncMessage::Direct { w, .. } => w,
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_compactly() {
        let msg = SyncMessage::Delta {
            w: "w1".into(),
            ops: vec![
                SyncOp {
                    id: "a".into(),
                    x: Some(1.5),
                    y: Some(2.0),
                    name: None,
                    state: None,
                    gone: false,
                },
                SyncOp {
                    id: "b".into(),
                    x: None,
                    y: None,
                    name: None,
                    state: None,
                    gone: true,
                },
            ],
        };
        let text = msg.encode();
        assert_eq!(
            text,
            r#"{"k":"delta","w":"w1","ops":[{"id":"a","x":1.5,"y":2.0},{"id":"b","gone":true}]}"#
        );
        assert_eq!(SyncMessage::decode(text.as_bytes()).expect("decodes"), msg);
        assert!(SyncMessage::decode(b"{\"k\":\"nope\"}").is_err());
    }

    #[test]
    fn the_constructors_build_the_ops_they_name() {
        let ops = [
            SyncOp::gone("b"),
            SyncOp::at("a", 1.5, 2.0, Some("A".into())),
            SyncOp::at("c", 0.0, 1.0, None).with_state(Some(serde_json::json!({"hp": 3}))),
            SyncOp::at("d", 0.0, 1.0, None).with_state(Some(serde_json::Value::Null)),
        ];
        assert_eq!(
            serde_json::to_string(&ops).expect("encodes"),
            r#"[{"id":"b","gone":true},{"id":"a","x":1.5,"y":2.0,"name":"A"},{"id":"c","x":0.0,"y":1.0,"state":{"hp":3}},{"id":"d","x":0.0,"y":1.0,"state":null}]"#
        );
        let back: Vec<SyncOp> =
            serde_json::from_str(&serde_json::to_string(&ops).expect("encodes")).expect("decodes");
        assert_eq!(back, ops, "a cleared state crosses as cleared");
    }

    #[test]
    fn relayed_events_carry_their_attachments_as_base64() {
        let msg = SyncMessage::Direct {
            w: "w1".into(),
            e: "whisper".into(),
            to: "p2".into(),
            d: serde_json::json!({"from": "p1", "data": {"_placeholder": true, "num": 0}}),
            b: vec![Attachment(vec![0, 1, 255])],
        };
        let text = msg.encode();
        assert!(
            text.contains(r#""k":"direct""#) && text.contains(r#""b":["AAH/"]"#),
            "{text}"
        );
        assert_eq!(SyncMessage::decode(text.as_bytes()).expect("decodes"), msg);
        let plain = SyncMessage::Event {
            w: "w1".into(),
            e: "said".into(),
            d: serde_json::json!({}),
            b: vec![],
        };
        assert!(!plain.encode().contains(r#""b""#));
        assert!(SyncMessage::decode(br#"{"k":"event","w":"w","e":"x","d":{},"b":["*"]}"#).is_err());
    }
}
