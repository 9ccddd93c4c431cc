//! Socket.IO event names and payloads (namespace `/`). docs/PROTOCOL.md is the contract
//! they implement: each event, its answer, the error codes and the limits.

use serde::{Deserialize, Serialize};

/// Client → server.
pub const JOIN: &str = "join";
pub const MOVE: &str = "move";
pub const SAY: &str = "say";
pub const LEAVE: &str = "leave";
/// Takes a dropped player's seat back on a new connection, within the resume window.
pub const RESUME: &str = "resume";
/// Sets the application-defined state of the player's entity.
pub const STATE: &str = "state";

/// Server → client.
pub const VIEW: &str = "view";
pub const PRESENCE: &str = "presence";
pub const SAID: &str = "said";
pub const ERROR: &str = "error";
/// Sent when the worker starts draining: reserve again and move to another shard.
pub const DRAINING: &str = "draining";
/// Sent when the worker hands its rooms to the next process of its shard (a rollout): the
/// connection closes next; connect again and `resume` with the credential held.
pub const MIGRATE: &str = "migrate";

/// The `migrate` notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateNotice {
    /// The shard the session resumes on.
    pub shard: u32,
    /// Where to connect; `None`: the URL the client is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub reason: String,
}

/// Error codes carried by acks and `error` events.
pub mod codes {
    pub const BAD_REQUEST: &str = "bad_request";
    pub const NOT_JOINED: &str = "not_joined";
    pub const ALREADY_JOINED: &str = "already_joined";
    pub const TOKEN_REQUIRED: &str = "token_required";
    pub const RESERVATION_INVALID: &str = "reservation_invalid";
    pub const WRONG_SHARD: &str = "wrong_shard";
    pub const ROOM_FULL: &str = "room_full";
    pub const DRAINING: &str = "draining";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const TOO_LARGE: &str = "too_large";
    pub const OUT_OF_BOUNDS: &str = "out_of_bounds";
    pub const UNAVAILABLE: &str = "unavailable";
    /// The resume window is over (or the worker restarted): reserve again.
    pub const RESUME_EXPIRED: &str = "resume_expired";
    /// The room the credential names is closed.
    pub const ROOM_CLOSED: &str = "room_closed";
    /// The credential belongs to another shard.
    pub const SHARD_CHANGED: &str = "shard_changed";
    /// The room's event buffer no longer reaches the `lastSeq` given.
    pub const REPLAY_GAP: &str = "replay_gap";
    /// Forged, tampered, for another set, already used, or with a `lastSeq` never sent.
    pub const RESUME_INVALID: &str = "resume_invalid";
    /// The reservation is bound to a player and the join brought no `identity`.
    pub const IDENTITY_REQUIRED: &str = "identity_required";
    /// The join's `identity` did not verify (or this worker cannot check one).
    pub const IDENTITY_INVALID: &str = "identity_invalid";
    /// The join's `identity` names another player than the reservation's.
    pub const IDENTITY_MISMATCH: &str = "identity_mismatch";
    /// A `player` event names an id that is not a player of the sender's room.
    pub const NOT_IN_ROOM: &str = "not_in_room";
    /// The `onJoin` or `onEvent` hook refused; its own code is the error's `reason`.
    pub const HOOK_REJECTED: &str = "hook_rejected";
    /// A fail-closed hook gave no usable answer (late, an error status, garbage,
    /// unreachable, its breaker open or its concurrency used up).
    pub const HOOK_FAILED: &str = "hook_failed";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub room: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The player's bearer JWT, required when the reservation is bound to its `sub`.
    #[serde(default)]
    pub identity: Option<String>,
}

/// Longest `identity` (a bearer JWT) a join may carry.
pub const MAX_IDENTITY_BYTES: usize = 8 * 1024;

/// `resume {credential, lastSeq}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResumeRequest {
    pub credential: String,
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveRequest {
    pub x: f64,
    pub y: f64,
    /// The entity's new application-defined state; `null` clears it, absent keeps it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub state: Option<serde_json::Value>,
}

/// `state {state}`: the entity's new application-defined state (`null` clears it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    pub state: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SayRequest {
    pub text: String,
}

/// An entity as first seen: position, display name, and its application-defined state
/// when it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityView {
    pub id: String,
    pub x: f32,
    pub y: f32,
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub state: Option<serde_json::Value>,
}

/// An update of an entity already in view: its position, and its state when the state
/// changed (`null`: cleared).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub id: String,
    pub x: f32,
    pub y: f32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub state: Option<serde_json::Value>,
}

/// A field that is there, `null` included, as `Some`; an absent one is `None` (through
/// `#[serde(default)]`). Serde alone reads `null` as absent, which would lose a cleared
/// state.
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn one_cell() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinOk {
    pub ok: bool,
    pub room: String,
    pub shard: u32,
    #[serde(rename = "self")]
    pub self_id: String,
    pub players: u32,
    pub view: Vec<EntityView>,
    /// World bounds: coordinates lie in `0..=width` and `0..=height`.
    pub width: f64,
    pub height: f64,
    /// Area-of-interest radius.
    pub radius: f64,
    /// Interest grid cells per radius: cells are `radius / cells` wide, and a player sees
    /// the cells up to `cells` away from its own. Absent from older workers, whose cells
    /// were as wide as the radius.
    #[serde(default = "one_cell")]
    pub cells: u32,
    /// The resume credential: secret to this client, good for one resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// The room's last event sequence number when the ack was sent; every room event
    /// after it arrives live.
    #[serde(default)]
    pub seq: u64,
    /// What the `onJoin` hook attached to the player.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// A room event sent again on resume: the event's name and its payload, `seq` included.
/// `D` is what the payload is held as (the worker's carries binary attachments too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissedEvent<D = serde_json::Value> {
    pub event: String,
    pub data: D,
}

/// The ack of a resume: the join ack's shape plus the room events missed, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeOk<D = serde_json::Value> {
    #[serde(flatten)]
    pub join: JoinOk,
    pub missed: Vec<MissedEvent<D>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The game's own code, when a hook refused (`hook_rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `{"ok":false,"error":{...}}`, the failed ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckError {
    pub ok: bool,
    pub error: ErrorBody,
}

impl AckError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                reason: None,
            },
        }
    }
}

/// `{"ok":true}`, the plain successful ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckOk {
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ViewBatch {
    pub tick: u64,
    pub moved: Vec<Moved>,
    pub entered: Vec<EntityView>,
    pub left: Vec<String>,
}

impl ViewBatch {
    pub fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.entered.is_empty() && self.left.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub room: String,
    pub players: u32,
    pub joined: Vec<String>,
    pub left: Vec<String>,
    /// Players whose connection dropped and whose seat is held for them to resume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub away: Vec<String>,
    /// Players who resumed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub back: Vec<String>,
    /// The room event's sequence number, per room as the receiving shard numbers them.
    #[serde(default)]
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    pub from: String,
    pub text: String,
    #[serde(default)]
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draining {
    pub reason: String,
    /// The worker closes its connections within this many milliseconds.
    pub closes_in_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_ok_uses_the_contract_field_names() {
        let ok = JoinOk {
            ok: true,
            room: "r".into(),
            shard: 1,
            self_id: "me".into(),
            players: 2,
            view: vec![],
            width: 1000.0,
            height: 1000.0,
            radius: 100.0,
            cells: 2,
            resume: None,
            seq: 0,
            metadata: None,
        };
        let v = serde_json::to_value(&ok).expect("json");
        assert!(v.get("metadata").is_none());
        assert_eq!(v["self"], "me");
        assert_eq!(v["ok"], true);
        assert_eq!(v["players"], 2);
        assert_eq!(v["cells"], 2);
        let mut old = v.clone();
        old.as_object_mut().expect("object").remove("cells");
        let back: JoinOk = serde_json::from_value(old).expect("an older ack");
        assert_eq!(back.cells, 1);
    }

    #[test]
    fn a_cleared_state_is_not_an_absent_one() {
        let m: Moved =
            serde_json::from_str(r#"{"id":"a","x":1,"y":2,"state":null}"#).expect("json");
        assert_eq!(m.state, Some(serde_json::Value::Null));
        let m: Moved = serde_json::from_str(r#"{"id":"a","x":1,"y":2}"#).expect("json");
        assert_eq!(m.state, None);
        let r: MoveRequest =
            serde_json::from_str(r#"{"x":1,"y":2,"state":{"hp":1}}"#).expect("json");
        assert_eq!(r.state, Some(serde_json::json!({"hp": 1})));
    }

    #[test]
    fn join_request_is_strict() {
        assert!(serde_json::from_str::<JoinRequest>(r#"{"room":"r"}"#).is_ok());
        assert!(serde_json::from_str::<JoinRequest>(r#"{"room":1}"#).is_err());
        assert!(serde_json::from_str::<JoinRequest>(r#"{"room":"r","x":1}"#).is_err());
    }

    #[test]
    fn ack_error_shape() {
        let v = serde_json::to_value(AckError::new(codes::ROOM_FULL, "full")).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"ok":false,"error":{"code":"room_full","message":"full"}})
        );
    }
}
