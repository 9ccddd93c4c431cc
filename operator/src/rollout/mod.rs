//! The rollout step of a reconcile: the worker pods as the API server shows them go into
//! [`plan`]; its marks go to Redis, the pod it names is deleted (the StatefulSet, which
//! updates `OnDelete`, starts it again from the new template), the canary it asks for is
//! created (and the others deleted), and each transition is an Event and a count.

mod canary;
mod plan;
#[cfg(test)]
mod tests;

pub use plan::{Observed, PodView, RolloutPlan, Transition, plan};

use crate::build::{POD_INDEX_LABEL, selector_string, statefulset};
use crate::controller::Context;
use crate::crd::{RolloutStatus, RoomShardSet};
use crate::redis_state::{RedisView, SetRedis};
use crate::validate::ValidSet;
use crate::{Error, Result, events};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::events::EventType;
use std::collections::BTreeMap;
use tracing::info;

/// The label the StatefulSet controller puts the pod's revision in.
const REVISION_LABEL: &str = "controller-revision-hash";
/// Container waits that no amount of waiting fixes.
const BROKEN: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// The set's pods of one component (its workers, or its canaries).
async fn list_pods(pods: &Api<Pod>, set: &str, component: &str) -> Result<Vec<Pod>> {
    let selector = selector_string(set, component);
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::Observe {
            kind: "Pod",
            name: selector.clone(),
            source,
        })?;
    Ok(listed.items)
}

fn view_of(pod: &Pod) -> Option<PodView> {
    let ordinal = pod.labels().get(POD_INDEX_LABEL)?.parse().ok()?;
    Some(PodView {
        ordinal,
        ..pod_state(pod)
    })
}

/// A pod's readiness and what keeps it from starting (its ordinal left at -1).
fn pod_state(pod: &Pod) -> PodView {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let broken = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| {
            let waiting = c
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .filter(|r| BROKEN.contains(r));
            match waiting {
                Some(r) => Some(r.to_owned()),
                None if c.restart_count > 2 => Some(format!("restarted {} times", c.restart_count)),
                None => None,
            }
        });
    PodView {
        ordinal: -1,
        revision: pod.labels().get(REVISION_LABEL).cloned(),
        ready,
        terminating: pod.metadata.deletion_timestamp.is_some(),
        broken,
    }
}

/// What the step leaves for the status: the rollout, and each shard's pod revision.
pub struct Outcome {
    pub status: Option<RolloutStatus>,
    pub revisions: BTreeMap<i32, String>,
    /// A shard is moving: look again soon.
    pub moving: bool,
}

/// Runs one rollout step for `set`, whose StatefulSet the API server returned as `sts`.
pub async fn step(
    set: &RoomShardSet,
    valid: &ValidSet,
    sts: &StatefulSet,
    redis: Option<&SetRedis>,
    view: Option<&RedisView>,
    scale_drain: bool,
    ctx: &Context,
) -> Result<Outcome> {
    let prev = set.status.as_ref().and_then(|s| s.rollout.as_ref());
    let replicas = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let Some(update) = sts.status.as_ref().and_then(|s| s.update_revision.clone()) else {
        return Ok(Outcome {
            status: prev.cloned(),
            revisions: BTreeMap::new(),
            moving: false,
        });
    };
    if let Some(settled) = settled(prev, sts, &update, replicas) {
        return Ok(settled);
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &valid.namespace);
    let listed = list_pods(&pods, &valid.name, statefulset::COMPONENT).await?;
    let views: Vec<PodView> = listed.iter().filter_map(view_of).collect();
    let canaries = canary::Canaries::list(&pods, &valid.name, &update).await?;
    let revisions = views
        .iter()
        .filter_map(|p| Some((p.ordinal, p.revision.clone()?)))
        .collect();
    let now = i64::try_from(roomshard_protocol::now_ms()).unwrap_or(i64::MAX);
    let p = plan(
        prev,
        &Observed {
            update_revision: Some(&update),
            replicas,
            pods: &views,
            canary: canaries.current.as_ref(),
            view,
            scale_drain,
            drain_timeout_ms: set.spec.drain_timeout_seconds().saturating_mul(1000),
            progress_deadline_ms: set.spec.progress_deadline_seconds().saturating_mul(1000),
            now_ms: now,
        },
    );
    if let Some(r) = redis {
        // The mark must be in place before the pod goes: a failure stops the step here.
        let marked = async {
            r.mark_replacing(&valid.keys, &p.mark).await?;
            r.unmark_replacing(&valid.keys, &p.unmark).await
        }
        .await;
        if let Err(e) = marked {
            ctx.metrics.redis_errors.inc();
            return Err(Error::Redis(e));
        }
    } else if p.delete.is_some() {
        return Ok(Outcome {
            status: prev.cloned(),
            revisions,
            moving: true,
        });
    }
    if let Some(i) = p.delete {
        let name = crate::build::names::pod(&valid.name, u32::try_from(i).unwrap_or(0));
        match pods.delete(&name, &DeleteParams::default()).await {
            Ok(_) => info!(pod = %name, "deleted for the rollout"),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => {
                return Err(Error::Remove {
                    kind: "Pod",
                    name,
                    source,
                });
            }
        }
    }
    canaries
        .keep(&pods, set, valid, sts, &update, p.canary)
        .await?;
    if let Some(t) = &p.transition {
        announce(set, t, &update, ctx).await;
    }
    let moving = p
        .status
        .as_ref()
        .is_some_and(|s| s.shard.is_some() && s.halted.is_none());
    Ok(Outcome {
        status: p.status,
        revisions,
        moving,
    })
}

/// Every pod on the newest revision and nothing moving, as the StatefulSet's own status
/// says: the outcome [`plan`] would reach, without listing the pods every reconcile.
fn settled(
    prev: Option<&RolloutStatus>,
    sts: &StatefulSet,
    update: &str,
    replicas: i32,
) -> Option<Outcome> {
    let st = sts.status.as_ref()?;
    let prev = prev.filter(|p| p.revision == update && p.shard.is_none() && p.halted.is_none())?;
    let all_updated = st.current_revision.as_deref() == Some(update)
        && st.updated_replicas == Some(replicas)
        && st.replicas == replicas
        && prev.updated == replicas;
    all_updated.then(|| Outcome {
        status: Some(prev.clone()),
        revisions: (0..replicas).map(|i| (i, update.to_owned())).collect(),
        moving: false,
    })
}

async fn announce(set: &RoomShardSet, t: &Transition, revision: &str, ctx: &Context) {
    let (type_, reason, note, outcome) = match t {
        Transition::Proving { shard } => (
            EventType::Normal,
            "RolloutProving",
            format!(
                "a canary pod of revision {revision} starts before shard {shard} (the first to move) is touched"
            ),
            "proving",
        ),
        Transition::ShardStarted { shard } => (
            EventType::Normal,
            "RolloutShardDraining",
            format!(
                "shard {shard} takes no new seats until its players leave, then moves to revision {revision}"
            ),
            "started",
        ),
        Transition::ShardReplaced { shard } => (
            EventType::Normal,
            "RolloutShardReplaced",
            format!("shard {shard} runs revision {revision}"),
            "replaced",
        ),
        Transition::Completed => (
            EventType::Normal,
            "RolloutCompleted",
            format!("every shard runs revision {revision}"),
            "completed",
        ),
        Transition::Halted { reason, .. } => (
            EventType::Warning,
            "RolloutHalted",
            format!(
                "{reason}; the other shards keep serving on their revision until the template changes again"
            ),
            "halted",
        ),
    };
    ctx.metrics.rollouts.with_label_values(&[outcome]).inc();
    info!(reason, %note, "rollout");
    events::publish(&ctx.recorder, set, type_, reason, note).await;
}
