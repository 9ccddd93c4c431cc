//! What a game adds to the protocol: `spec.events`, its custom events, handed to every
//! worker as `EVENTS`, and `spec.entityState`, the bound of its entities' state
//! (`MAX_STATE_BYTES`).

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest payload a custom event may declare: the workers' message size limit
/// (their default `MAX_MESSAGE_BYTES`), which no message may exceed.
pub const MAX_EVENT_BYTES: i32 = 16 * 1024;

/// One custom event (docs/PROTOCOL.md, "Custom events").
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSpec {
    /// The Socket.IO event name: 1 to 32 of `A-Z a-z 0-9 _ - . :`, not a built-in event.
    #[schemars(length(min = 1, max = 32), regex(pattern = r"^[-_.:a-zA-Z0-9]+$"))]
    pub name: String,
    /// Who receives it: `room`, `nearby` or `player` (`server` needs `spec.hooks`).
    pub scope: EventScope,
    /// Largest payload (JSON plus binary attachments) in bytes. Default 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 16384))]
    pub max_bytes: Option<i32>,
    /// Events of this name one connection may send per second. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub per_second: Option<i32>,
}

/// The application-defined state each player's entity carries in `view`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntityStateSpec {
    /// Largest state, in bytes of JSON text. Default 256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4096))]
    pub max_bytes: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventScope {
    Room,
    Nearby,
    Player,
    Server,
}
