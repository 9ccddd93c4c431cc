//! `spec.autoscale`: the operator sets `spec.shards` from the seats in use.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Default seats in use ÷ seats the autoscaler keeps a set at.
pub const DEFAULT_TARGET_OCCUPANCY: f64 = 0.7;
/// Default time occupancy must stay above the target before a scale-up.
pub const DEFAULT_SCALE_UP_STABILIZATION_SECONDS: i64 = 0;
/// Default time a set must be larger than it needs before each one-shard scale-down.
pub const DEFAULT_SCALE_DOWN_DELAY_SECONDS: i64 = 300;

/// Occupancy autoscaling. From the heartbeats it already reads, the operator computes the
/// occupancy (players ÷ the seats of the shards) and the shards that would bring it to
/// `targetOccupancy`, and writes that count to `spec.shards` through the scale
/// subresource: up at once (after `scaleUpStabilizationSeconds`), down one shard at a
/// time after `scaleDownDelaySeconds`, each shard through the drain. While autoscale is
/// on, `spec.shards` must stay within `[minShards, maxShards]`; a manual scale inside
/// them lasts until the autoscaler's next decision.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.minShards <= self.maxShards").message("autoscale.minShards must not be larger than autoscale.maxShards"))]
pub struct AutoscaleSpec {
    #[schemars(range(min = 1, max = 1024))]
    pub min_shards: i32,
    #[schemars(range(min = 1, max = 1024))]
    pub max_shards: i32,
    /// Seats in use ÷ seats to keep the set at, from 0.05 to 1. Default 0.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.05, max = 1.0))]
    pub target_occupancy: Option<f64>,
    /// How long occupancy must stay above the target before a scale-up. Default 0: the
    /// first reconcile that sees it (one heartbeat interval) scales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_up_stabilization_seconds: Option<i64>,
    /// How long the set must be larger than it needs before each one-shard scale-down.
    /// Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_down_delay_seconds: Option<i64>,
}

impl AutoscaleSpec {
    pub fn target(&self) -> f64 {
        self.target_occupancy
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(DEFAULT_TARGET_OCCUPANCY)
            .min(1.0)
    }

    pub fn scale_up_stabilization_ms(&self) -> i64 {
        self.scale_up_stabilization_seconds
            .unwrap_or(DEFAULT_SCALE_UP_STABILIZATION_SECONDS)
            .saturating_mul(1000)
    }

    pub fn scale_down_delay_ms(&self) -> i64 {
        self.scale_down_delay_seconds
            .unwrap_or(DEFAULT_SCALE_DOWN_DELAY_SECONDS)
            .saturating_mul(1000)
    }
}
