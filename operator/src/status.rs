//! The set's status: computed purely from what was observed, then written with
//! server-side apply to the status subresource.

use crate::build::{MANAGER, names};
use crate::crd::{Condition, DrainStatus, RoomShardSet, RoomShardSetStatus, ShardStatus};
use crate::redis_state::RedisView;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

/// Everything the status is computed from.
pub struct Observation<'a> {
    pub name: &'a str,
    pub generation: Option<i64>,
    /// `spec.shards`.
    pub desired: i32,
    pub statefulset: Option<&'a StatefulSet>,
    /// Redis as read this reconcile, or why it could not be.
    pub redis: Result<&'a RedisView, String>,
    pub drain: Option<DrainStatus>,
    pub selector: String,
    /// RFC 3339 time for conditions that change now.
    pub now: String,
}

fn condition(type_: &str, status: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        last_transition_time: String::new(),
        observed_generation: None,
    }
}

/// Stamps `next` with times: a condition whose status did not change keeps its time.
fn stamp(
    prev: &[Condition],
    next: Vec<Condition>,
    now: &str,
    generation: Option<i64>,
) -> Vec<Condition> {
    next.into_iter()
        .map(|mut c| {
            c.observed_generation = generation;
            c.last_transition_time = prev
                .iter()
                .find(|p| p.type_ == c.type_ && p.status == c.status)
                .map(|p| p.last_transition_time.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| now.to_owned());
            c
        })
        .collect()
}

/// The status of a set observed in `obs`.
pub fn compute(prev: Option<&RoomShardSetStatus>, obs: &Observation<'_>) -> RoomShardSetStatus {
    let sts_status = obs.statefulset.and_then(|s| s.status.as_ref());
    let sts_replicas = obs
        .statefulset
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(0);
    let replicas = sts_status.map(|s| s.replicas).unwrap_or(0);
    let ready = sts_status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = sts_status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let observed_sts = obs
        .statefulset
        .and_then(|s| s.metadata.generation)
        .is_some_and(|g| sts_status.and_then(|s| s.observed_generation) == Some(g));

    let count = sts_replicas.max(obs.desired).max(0);
    let view = obs.redis.as_ref().ok();
    let shards: Vec<ShardStatus> = (0..u32::try_from(count).unwrap_or(0))
        .map(|i| {
            let hb = view.and_then(|v| v.heartbeats.get(&i));
            let marked = view.is_some_and(|v| v.draining.contains(&i));
            ShardStatus {
                index: i32::try_from(i).unwrap_or(i32::MAX),
                pod: names::pod(obs.name, i),
                ready: hb.is_some(),
                rooms: hb.map(|h| i64::from(h.rooms)).unwrap_or(0),
                players: hb.map(|h| i64::from(h.players)).unwrap_or(0),
                draining: marked
                    || hb.is_some_and(|h| h.draining)
                    || i64::from(i) >= i64::from(obs.desired),
                revision: String::new(),
            }
        })
        .collect();
    let rooms = shards.iter().map(|s| s.rooms).sum();
    let players = shards.iter().map(|s| s.players).sum();

    let all_ready = ready >= obs.desired && replicas >= obs.desired;
    let ready_cond = if all_ready {
        condition(
            READY,
            true,
            "AllShardsReady",
            format!("{ready}/{} worker pods ready", obs.desired),
        )
    } else {
        condition(
            READY,
            false,
            "ShardsNotReady",
            format!("{ready}/{} worker pods ready", obs.desired),
        )
    };
    let progressing = if let Some(d) = &obs.drain {
        condition(
            PROGRESSING,
            true,
            "Draining",
            format!(
                "draining shards {}..{} before scaling from {} to {}",
                d.to,
                d.from - 1,
                d.from,
                d.to
            ),
        )
    } else if !observed_sts || replicas != sts_replicas || updated < sts_replicas || !all_ready {
        condition(
            PROGRESSING,
            true,
            "RollingOut",
            format!("{updated}/{sts_replicas} worker pods updated, {ready} ready"),
        )
    } else {
        condition(
            PROGRESSING,
            false,
            "Stable",
            "every worker pod is updated and ready".into(),
        )
    };
    let degraded = match &obs.redis {
        Err(why) => condition(DEGRADED, true, "RedisUnavailable", why.clone()),
        Ok(v) if v.undecodable > 0 => condition(
            DEGRADED,
            true,
            "BadHeartbeats",
            format!("{} shard heartbeats could not be decoded", v.undecodable),
        ),
        Ok(_) => condition(DEGRADED, false, "AsExpected", "Redis is reachable".into()),
    };
    let prev_conditions = prev.map(|p| p.conditions.as_slice()).unwrap_or(&[]);
    RoomShardSetStatus {
        observed_generation: obs.generation,
        replicas,
        ready_replicas: ready,
        rooms,
        players,
        selector: obs.selector.clone(),
        shards,
        drain: obs.drain.clone(),
        // The controller fills these in (crate::autoscale, crate::rollout).
        autoscale: None,
        rollout: None,
        updated_replicas: updated,
        conditions: stamp(
            prev_conditions,
            vec![ready_cond, progressing, degraded],
            &obs.now,
            obs.generation,
        ),
    }
}

/// The status of a set whose spec cannot be reconciled: what was observed before stays,
/// the conditions say why nothing happens.
pub fn invalid(
    prev: Option<&RoomShardSetStatus>,
    generation: Option<i64>,
    selector: String,
    message: &str,
    now: &str,
) -> RoomShardSetStatus {
    let base = prev.cloned().unwrap_or_default();
    let conditions = vec![
        condition(READY, false, "InvalidSpec", message.to_owned()),
        condition(
            PROGRESSING,
            false,
            "InvalidSpec",
            "waiting for the spec to be fixed".into(),
        ),
        condition(DEGRADED, true, "InvalidSpec", message.to_owned()),
    ];
    RoomShardSetStatus {
        observed_generation: generation,
        selector,
        conditions: stamp(&base.conditions, conditions, now, generation),
        ..base
    }
}

/// Conditions whose status or reason differ between `prev` and `next`.
pub fn changed_conditions<'a>(
    prev: Option<&RoomShardSetStatus>,
    next: &'a RoomShardSetStatus,
) -> Vec<&'a Condition> {
    next.conditions
        .iter()
        .filter(|c| {
            !prev.is_some_and(|p| {
                p.conditions
                    .iter()
                    .any(|o| o.type_ == c.type_ && o.status == c.status && o.reason == c.reason)
            })
        })
        .collect()
}

/// Writes `status` to the status subresource (server-side apply, so fields the operator
/// stops reporting, such as a finished drain, disappear).
pub async fn patch(
    api: &Api<RoomShardSet>,
    name: &str,
    status: &RoomShardSetStatus,
) -> Result<(), kube::Error> {
    let body = serde_json::json!({
        "apiVersion": "roomshard.dev/v1alpha1",
        "kind": "RoomShardSet",
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(drop)
}

/// Now as RFC 3339, the form conditions carry.
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `st` with the rollout's progress: the pods on the newest revision, the rollout, and
/// each shard's pod revision.
pub fn with_rollout(
    st: RoomShardSetStatus,
    statefulset: &StatefulSet,
    rollout: Option<crate::crd::RolloutStatus>,
    revisions: &std::collections::BTreeMap<i32, String>,
) -> RoomShardSetStatus {
    let mut st = RoomShardSetStatus {
        updated_replicas: statefulset
            .status
            .as_ref()
            .and_then(|s| s.updated_replicas)
            .unwrap_or(0),
        rollout,
        ..st
    };
    for shard in &mut st.shards {
        if let Some(r) = revisions.get(&shard.index) {
            shard.revision.clone_from(r);
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{StatefulSetSpec, StatefulSetStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use roomshard_protocol::records::ShardHeartbeat;

    fn sts(spec_replicas: i32, replicas: i32, ready: i32) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                generation: Some(2),
                ..ObjectMeta::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(spec_replicas),
                ..StatefulSetSpec::default()
            }),
            status: Some(StatefulSetStatus {
                observed_generation: Some(2),
                replicas,
                ready_replicas: Some(ready),
                updated_replicas: Some(replicas),
                ..StatefulSetStatus::default()
            }),
        }
    }

    fn view() -> RedisView {
        let mut v = RedisView::default();
        for (i, rooms, players) in [(0u32, 2u32, 10u32), (1, 1, 3)] {
            let hb = ShardHeartbeat::decode(
                format!(r#"{{"index":{i},"total":3,"rooms":{rooms},"players":{players}}}"#)
                    .as_bytes(),
            )
            .expect("hb");
            v.heartbeats.insert(i, hb);
        }
        v.draining.insert(1);
        v
    }

    /// Set `game` at generation 1 wanting `desired` shards, without a drain.
    fn observed<'a>(s: &'a StatefulSet, v: &'a RedisView, desired: i32) -> Observation<'a> {
        Observation {
            name: "game",
            generation: Some(1),
            desired,
            statefulset: Some(s),
            redis: Ok(v),
            drain: None,
            selector: String::new(),
            now: "t".into(),
        }
    }

    fn cond<'a>(s: &'a RoomShardSetStatus, t: &str) -> &'a Condition {
        s.conditions
            .iter()
            .find(|c| c.type_ == t)
            .expect("condition")
    }

    #[test]
    fn ready_set_sums_heartbeats() {
        let s = sts(3, 3, 3);
        let v = view();
        let obs = Observation {
            generation: Some(7),
            selector: "sel".into(),
            now: "2025-01-01T00:00:00Z".into(),
            ..observed(&s, &v, 3)
        };
        let st = compute(None, &obs);
        assert_eq!(st.observed_generation, Some(7));
        assert_eq!(
            (st.replicas, st.ready_replicas, st.rooms, st.players),
            (3, 3, 3, 13)
        );
        assert_eq!(st.shards.len(), 3);
        assert_eq!(st.shards[1].pod, "game-1");
        assert!(st.shards[1].draining && st.shards[1].ready);
        assert!(!st.shards[2].ready);
        assert_eq!(cond(&st, READY).status, "True");
        assert_eq!(cond(&st, PROGRESSING).reason, "Stable");
        assert_eq!(cond(&st, DEGRADED).status, "False");

        // Unchanged conditions keep their transition time; changed ones get the new time.
        let later = Observation {
            now: "2025-01-01T00:05:00Z".into(),
            redis: Err("Redis did not answer".into()),
            ..obs
        };
        let st2 = compute(Some(&st), &later);
        assert_eq!(
            cond(&st2, READY).last_transition_time,
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(cond(&st2, DEGRADED).reason, "RedisUnavailable");
        assert_eq!(
            cond(&st2, DEGRADED).last_transition_time,
            "2025-01-01T00:05:00Z"
        );
        let changed: Vec<&str> = changed_conditions(Some(&st), &st2)
            .iter()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(changed, [DEGRADED]);
        assert_eq!((st2.rooms, st2.players), (0, 0));
    }

    #[test]
    fn drain_and_rollout_show_as_progressing() {
        let s = sts(4, 4, 2);
        let v = RedisView::default();
        let drain = DrainStatus {
            from: 4,
            to: 2,
            started_at_ms: 1,
            deadline_ms: 2,
        };
        let st = compute(
            None,
            &Observation {
                drain: Some(drain.clone()),
                ..observed(&s, &v, 2)
            },
        );
        assert_eq!(cond(&st, PROGRESSING).reason, "Draining");
        assert_eq!(st.drain, Some(drain));
        assert_eq!(st.shards.len(), 4);
        assert!(st.shards[3].draining && !st.shards[1].draining);
        assert_eq!(cond(&st, READY).status, "True");
        let st = compute(None, &observed(&s, &v, 4));
        assert_eq!(cond(&st, READY).reason, "ShardsNotReady");
        assert_eq!(cond(&st, PROGRESSING).reason, "RollingOut");
    }

    #[test]
    fn invalid_spec_keeps_observations() {
        let prev = RoomShardSetStatus {
            replicas: 3,
            ..RoomShardSetStatus::default()
        };
        let st = invalid(Some(&prev), Some(4), "sel".into(), "spec.shards 0 ...", "t");
        assert_eq!(st.replicas, 3);
        assert_eq!(st.observed_generation, Some(4));
        assert_eq!(cond(&st, DEGRADED).reason, "InvalidSpec");
        assert_eq!(cond(&st, READY).message, "spec.shards 0 ...");
    }
}
