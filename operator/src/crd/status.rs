//! The status the operator writes: what it observed, and the drain, autoscale and
//! rollout it is carrying out.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// What the operator observed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomShardSetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Worker pods the StatefulSet runs (what the scale subresource reports).
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub rooms: i64,
    #[serde(default)]
    pub players: i64,
    /// Label selector of the worker pods, for the scale subresource.
    #[serde(default)]
    pub selector: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardStatus>,
    /// A scale-down in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainStatus>,
    /// Worker pods on the StatefulSet's newest revision.
    #[serde(default)]
    pub updated_replicas: i32,
    /// The rollout of the worker pods' newest template (see `docs/OPERATOR.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    /// What the autoscaler saw and decided last (with `spec.autoscale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardStatus {
    pub index: i32,
    pub pod: String,
    /// A fresh heartbeat was seen.
    pub ready: bool,
    pub rooms: i64,
    pub players: i64,
    pub draining: bool,
    /// The `controller-revision-hash` of the shard's pod.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub revision: String,
}

/// A scale-down from `from` shards to `to`; shards `to..from` are draining.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainStatus {
    pub from: i32,
    pub to: i32,
    /// When the drain began (ms since the epoch); survives operator restarts.
    pub started_at_ms: i64,
    /// After this (ms since the epoch) the shards are removed even with players left.
    pub deadline_ms: i64,
}

/// A condition, as `kubectl wait --for=condition=Ready` reads it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    /// RFC 3339 time of the last status change.
    #[serde(default)]
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The autoscaler's view. Its clocks live here so that an operator restart keeps them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscaleStatus {
    /// Players ÷ the seats of the set's shards, in percent.
    pub occupancy_percent: i32,
    /// The shards that would bring occupancy to the target (within min and max).
    pub desired_shards: i32,
    /// Since when (ms since the epoch) the set has needed more shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_since_ms: Option<i64>,
    /// Since when (ms since the epoch) the set has needed fewer shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_since_ms: Option<i64>,
    /// The last scale decision: when (ms since the epoch) and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_decision: String,
    /// Scale decisions taken since the set was created.
    #[serde(default)]
    pub decisions: i64,
}

/// The step a shard is at in a rollout.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum RolloutPhase {
    /// A canary pod of the new revision is starting; no shard has moved yet.
    Proving,
    /// Marked draining: no new seats, its players finishing.
    Draining,
    /// Its pod deleted, the new one not Ready yet.
    Replacing,
}

/// The rollout towards the StatefulSet's newest revision, one shard at a time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The revision the pods move to.
    pub revision: String,
    /// Pods already on it.
    pub updated: i32,
    /// The shard moving now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RolloutPhase>,
    /// When the phase began (ms since the epoch).
    pub phase_since_ms: i64,
    /// When a draining shard is replaced even with players left (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
    /// Why the rollout stopped; a new template starts it over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
}
