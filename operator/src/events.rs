//! The Events a reconcile records on its RoomShardSet: what changed, in words an operator
//! of the cluster reads with `kubectl describe`.

use crate::crd::{RoomShardSet, RoomShardSetStatus};
use crate::drain::DrainTransition;
use crate::metrics::Metrics;
use crate::status;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use tracing::{info, warn};

/// Records one Event on `set`; a failure to record is logged, never fatal.
pub async fn publish(
    recorder: &Recorder,
    set: &RoomShardSet,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let ev = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&ev, &set.object_ref(&())).await {
        warn!(error = %e, reason, "could not record an event");
    }
}

/// Records and counts a drain that started, ended or was called off.
pub async fn drain(
    recorder: &Recorder,
    metrics: &Metrics,
    set: &RoomShardSet,
    t: &DrainTransition,
) {
    let (type_, reason, note, outcome) = match *t {
        DrainTransition::Started { from, to } => (
            EventType::Normal,
            "DrainStarted",
            format!(
                "scaling from {from} to {to} shards: shards {to}..{} take no new seats until their players leave",
                from - 1
            ),
            "started",
        ),
        DrainTransition::Completed { from, to } => (
            EventType::Normal,
            "DrainCompleted",
            format!("shards {to}..{} are empty; scaled to {to}", from - 1),
            "completed",
        ),
        DrainTransition::TimedOut { from, to, players } => (
            EventType::Warning,
            "DrainTimedOut",
            format!(
                "drain deadline passed with {players} players on shards {to}..{}; scaled to {to} anyway",
                from - 1
            ),
            "timed_out",
        ),
        DrainTransition::Cancelled { from, to } => (
            EventType::Normal,
            "DrainCancelled",
            format!("scaled back up while draining {from} -> {to}; the shards take seats again"),
            "cancelled",
        ),
    };
    metrics.drains.with_label_values(&[outcome]).inc();
    info!(reason, %note, "drain");
    publish(recorder, set, type_, reason, note).await;
}

/// Records an Event for every condition that changed.
pub async fn conditions(
    recorder: &Recorder,
    set: &RoomShardSet,
    prev: Option<&RoomShardSetStatus>,
    next: &RoomShardSetStatus,
) {
    for c in status::changed_conditions(prev, next) {
        let bad = (c.type_ == status::DEGRADED && c.status == "True")
            || (c.type_ == status::READY && c.status == "False" && c.reason == "InvalidSpec");
        let boring = c.type_ == status::DEGRADED && c.status == "False" && prev.is_none();
        if boring || (c.type_ == status::PROGRESSING && c.reason == "InvalidSpec") {
            continue;
        }
        let type_ = if bad {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(
            recorder,
            set,
            type_,
            &c.reason,
            format!("{}={}: {}", c.type_, c.status, c.message),
        )
        .await;
    }
}
