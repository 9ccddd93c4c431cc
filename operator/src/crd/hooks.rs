//! `spec.hooks`: the game's server hooks, handed to every worker as `HOOKS` (and the
//! signing key as `HOOK_SECRET`). docs/PROTOCOL.md ("Server hooks") is the contract.

use super::SecretKeyRef;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The set's hooks; each may be absent.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksSpec {
    /// Called before a player takes a seat: may refuse, or attach metadata and state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_join: Option<HookSpec>,
    /// Takes the `server` events: may emit events or refuse the sender's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_event: Option<HookSpec>,
    /// Told of the first seat taken in a room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_room_created: Option<HookSpec>,
    /// Told of a room that left the registry (fails open only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_room_closed: Option<HookSpec>,
    /// Key of the `x-roomshard-signature` HMAC of every request (at least 16 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
}

/// One hook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookSpec {
    /// Where requests are POSTed (http or https).
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://"))]
    pub url: String,
    /// Deadline of one call in milliseconds. Default 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 30000))]
    pub timeout_ms: Option<i64>,
    /// Calls in flight at once per worker. Default 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4096))]
    pub max_concurrency: Option<i32>,
    /// What a call that gets no usable answer does: `open` goes ahead, `closed` refuses
    /// with `hook_failed`. Default: closed for onJoin and onEvent, open for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<HookFailure>,
    /// The circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookFailure {
    Open,
    Closed,
}

/// After `failures` failures in a row the hook is not called for `openMs`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakerSpec {
    /// Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub failures: Option<i32>,
    /// Default 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600000))]
    pub open_ms: Option<i64>,
}
