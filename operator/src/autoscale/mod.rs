//! The autoscale step of a reconcile: the players the heartbeats report go into
//! [`decide`]; a decision is written to `spec.shards` through the scale subresource (the
//! path a HorizontalPodAutoscaler takes too), announced as an Event and counted. The
//! reconcile then carries on with the new count, so a scale-up's pods are asked for in
//! the same pass, and a scale-down goes through the drain like any other.

mod decide;

pub use decide::{Load, Scale, decide};

use crate::controller::Context;
use crate::crd::{AutoscaleStatus, RoomShardSet};
use crate::redis_state::RedisView;
use crate::{Error, Result, events};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use std::borrow::Cow;
use tracing::info;

/// The field manager of the autoscaler's writes to `spec.shards`.
pub const MANAGER: &str = "roomshard-operator-autoscaler";

/// The set as the rest of the reconcile should see it (with the new `spec.shards` when
/// the autoscaler changed it), and the autoscaler's status to write. Without
/// `spec.autoscale` the set is unchanged and there is no status; without a view of Redis
/// nothing is decided and the last status stays.
pub async fn step<'a>(
    set: &'a RoomShardSet,
    api: &Api<RoomShardSet>,
    view: Option<&RedisView>,
    draining: bool,
    ctx: &Context,
) -> Result<(Cow<'a, RoomShardSet>, Option<AutoscaleStatus>)> {
    let Some(spec) = &set.spec.autoscale else {
        return Ok((Cow::Borrowed(set), None));
    };
    let prev = set.status.as_ref().and_then(|s| s.autoscale.as_ref());
    let Some(view) = view else {
        return Ok((Cow::Borrowed(set), prev.cloned()));
    };
    let capacity = set.spec.capacity();
    let seats = u64::try_from(capacity.rooms_per_shard).unwrap_or(0)
        * u64::try_from(capacity.players_per_room).unwrap_or(0);
    let load = Load {
        shards: set.spec.shards,
        seats_per_shard: seats,
        players: view.heartbeats.values().map(|h| u64::from(h.players)).sum(),
        draining,
    };
    let now = i64::try_from(roomshard_protocol::now_ms()).unwrap_or(i64::MAX);
    let (status, change) = decide(spec, prev, &load, now);
    let Some(change) = change else {
        return Ok((Cow::Borrowed(set), Some(status)));
    };
    let name = set.name_any();
    // The decision is recorded before the shard count changes, so the reconcile that the
    // change starts (the same watch, later) sees it and does not count or decide again.
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"status": {"autoscale": &status}})),
    )
    .await
    .map_err(|source| Error::Status {
        name: name.clone(),
        source,
    })?;
    api.patch_scale(
        &name,
        &PatchParams {
            field_manager: Some(MANAGER.into()),
            ..PatchParams::default()
        },
        &Patch::Merge(serde_json::json!({"spec": {"replicas": change.to}})),
    )
    .await
    .map_err(|source| Error::Apply {
        kind: "RoomShardSet/scale",
        name: name.clone(),
        source,
    })?;
    info!(from = change.from, to = change.to, reason = %change.reason, "autoscaled");
    ctx.metrics
        .autoscale
        .with_label_values(&[change.direction()])
        .inc();
    let reason = if change.to > change.from {
        "ScaledUp"
    } else {
        "ScaledDown"
    };
    let note = format!("{} → {} shards: {}", change.from, change.to, change.reason);
    events::publish(&ctx.recorder, set, EventType::Normal, reason, note).await;
    let mut scaled = set.clone();
    scaled.spec.shards = change.to;
    Ok((Cow::Owned(scaled), Some(status)))
}
