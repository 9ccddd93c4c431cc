//! The rollout decision: which shard moves to the new pod template next, and when.
//!
//! The StatefulSet updates `OnDelete`: its controller replaces a pod only when someone
//! deletes it, so the operator decides the order. One shard at a time, highest index
//! first, and only while every other shard's pod is Ready (at most one shard is ever out):
//!
//! 0. **Proving.** While no pod runs the new revision, a canary pod of it starts first
//!    ([`crate::build::canary`]); no shard is touched until it is Ready, and a canary that
//!    cannot start halts the rollout with every shard serving on the old revision.
//! 1. **Draining.** The shard is marked draining and replacing: the matchmaker places no
//!    new seat there and its worker refuses joins. The step ends when its heartbeat says
//!    it is draining and either has no player left or hands its rooms over (a worker of
//!    this release: on its way out it passes every room to the next process of the
//!    shard, and its players resume there), when it has no heartbeat (no worker, so no
//!    player), or at the drain deadline.
//! 2. **Replacing.** The pod is deleted; the StatefulSet starts it again from the new
//!    template. The step ends when that pod is Ready, and the shard's mark is lifted.
//!
//! A new pod that is not Ready within the progress deadline, or that crash-loops, halts
//! the rollout: no further pod is deleted, the old shards keep serving, and the broken
//! shard stays marked so that nothing is placed on it. A new template (a fixed image)
//! starts the rollout over towards the new revision.

use crate::crd::{RolloutPhase, RolloutStatus};
use crate::redis_state::RedisView;

/// One worker pod as the API server shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub ordinal: i32,
    /// Its `controller-revision-hash` label.
    pub revision: Option<String>,
    pub ready: bool,
    /// Deletion has begun.
    pub terminating: bool,
    /// Why it cannot start: a container waits in `CrashLoopBackOff` or with an image it
    /// cannot get, or has restarted more than twice.
    pub broken: Option<String>,
}

/// What the reconcile saw.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The StatefulSet's `status.updateRevision`.
    pub update_revision: Option<&'a str>,
    /// Shards the set keeps (pods at or past it are being drained away).
    pub replicas: i32,
    pub pods: &'a [PodView],
    /// The canary pod of the target revision, if there is one.
    pub canary: Option<&'a PodView>,
    pub view: Option<&'a RedisView>,
    /// A scale-down drain runs: the rollout waits for it.
    pub scale_drain: bool,
    pub drain_timeout_ms: i64,
    pub progress_deadline_ms: i64,
    pub now_ms: i64,
}

/// What to do this reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolloutPlan {
    pub status: Option<RolloutStatus>,
    pub mark: Vec<u32>,
    pub unmark: Vec<u32>,
    /// The pod of this shard is to be deleted.
    pub delete: Option<i32>,
    /// The canary of the target revision is to exist (else every canary goes).
    pub canary: bool,
    pub transition: Option<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Proving { shard: i32 },
    ShardStarted { shard: i32 },
    ShardReplaced { shard: i32 },
    Completed,
    Halted { shard: i32, reason: String },
}

fn shard(i: i32) -> Vec<u32> {
    u32::try_from(i).map(|s| vec![s]).unwrap_or_default()
}

/// The shard's pod may go: it has no worker, or its worker has seen the mark and either
/// counts no player or hands its rooms over to the next process of the shard.
fn emptied(view: Option<&RedisView>, shard: i32) -> bool {
    let Ok(i) = u32::try_from(shard) else {
        return true;
    };
    view.is_some_and(|v| {
        v.heartbeats
            .get(&i)
            .is_none_or(|hb| hb.draining && (hb.players == 0 || hb.handoff))
    })
}

/// Decides the rollout step. `prev` is the rollout recorded in status.
pub fn plan(prev: Option<&RolloutStatus>, obs: &Observed<'_>) -> RolloutPlan {
    let Some(target) = obs.update_revision else {
        return RolloutPlan {
            status: prev.cloned(),
            ..RolloutPlan::default()
        };
    };
    let kept: Vec<&PodView> = obs
        .pods
        .iter()
        .filter(|p| p.ordinal < obs.replicas)
        .collect();
    let updated = kept
        .iter()
        .filter(|p| p.revision.as_deref() == Some(target))
        .count();
    // A new target revision starts over (and lifts a halt).
    let prev = prev.filter(|p| p.revision == target);
    // Nothing moving stays as it was: a clock in an idle status would rewrite the status,
    // and so start another reconcile, every time.
    let idle_since = prev
        .filter(|p| p.shard.is_none() && p.halted.is_none())
        .map_or(obs.now_ms, |p| p.phase_since_ms);
    let base = RolloutStatus {
        revision: target.to_owned(),
        updated: i32::try_from(updated).unwrap_or(i32::MAX),
        shard: None,
        phase: None,
        phase_since_ms: idle_since,
        deadline_ms: None,
        halted: None,
    };
    if let Some(p) = prev.filter(|p| p.halted.is_some()) {
        // A halted canary stays for `kubectl describe`; no shard was touched.
        let proving = p.phase == Some(RolloutPhase::Proving);
        return RolloutPlan {
            status: Some(RolloutStatus {
                updated: base.updated,
                ..p.clone()
            }),
            mark: if proving {
                vec![]
            } else {
                p.shard.map(shard).unwrap_or_default()
            },
            canary: proving,
            ..RolloutPlan::default()
        };
    }
    if let Some((i, phase)) = prev.and_then(|p| Some((p.shard?, p.phase?))) {
        let p = prev.cloned().unwrap_or(base.clone());
        let pod = kept.iter().find(|pod| pod.ordinal == i);
        return match phase {
            RolloutPhase::Proving => proving(obs, &kept, p, base.updated, i),
            RolloutPhase::Draining => {
                let due = p.deadline_ms.is_some_and(|d| obs.now_ms >= d);
                // Only a pod on an old revision is ever deleted: a status read before the
                // last step's write landed must not take the new pod down.
                let replaced = pod.is_none_or(|pod| pod.revision.as_deref() == Some(target));
                if replaced {
                    RolloutPlan {
                        status: Some(RolloutStatus {
                            updated: base.updated,
                            phase: Some(RolloutPhase::Replacing),
                            ..p
                        }),
                        ..RolloutPlan::default()
                    }
                } else if emptied(obs.view, i) || due {
                    RolloutPlan {
                        status: Some(RolloutStatus {
                            updated: base.updated,
                            phase: Some(RolloutPhase::Replacing),
                            phase_since_ms: obs.now_ms,
                            ..p
                        }),
                        mark: shard(i),
                        delete: Some(i),
                        ..RolloutPlan::default()
                    }
                } else {
                    RolloutPlan {
                        status: Some(RolloutStatus {
                            updated: base.updated,
                            ..p
                        }),
                        mark: shard(i),
                        ..RolloutPlan::default()
                    }
                }
            }
            RolloutPhase::Replacing => {
                let new_pod =
                    pod.filter(|pod| pod.revision.as_deref() == Some(target) && !pod.terminating);
                match new_pod {
                    Some(pod) if pod.ready => {
                        let last = kept.iter().all(|p| p.revision.as_deref() == Some(target));
                        RolloutPlan {
                            status: Some(base),
                            unmark: shard(i),
                            transition: Some(if last {
                                Transition::Completed
                            } else {
                                Transition::ShardReplaced { shard: i }
                            }),
                            ..RolloutPlan::default()
                        }
                    }
                    _ => {
                        let late =
                            obs.now_ms.saturating_sub(p.phase_since_ms) >= obs.progress_deadline_ms;
                        let broken = new_pod.and_then(|pod| pod.broken.as_deref());
                        let reason = match (broken, late) {
                            (Some(why), _) => {
                                Some(format!("the new pod of shard {i} cannot start: {why}"))
                            }
                            (None, true) => Some(format!(
                                "the new pod of shard {i} was not Ready within {} s",
                                obs.progress_deadline_ms / 1000
                            )),
                            (None, false) => None,
                        };
                        RolloutPlan {
                            transition: reason
                                .clone()
                                .map(|reason| Transition::Halted { shard: i, reason }),
                            // Halted, the broken shard stays marked; while its new pod
                            // starts, the old worker has lifted its own mark on the way out.
                            mark: if reason.is_some() { shard(i) } else { vec![] },
                            status: Some(RolloutStatus {
                                updated: base.updated,
                                halted: reason,
                                ..p
                            }),
                            ..RolloutPlan::default()
                        }
                    }
                }
            }
        };
    }
    let old: Vec<&&PodView> = kept
        .iter()
        .filter(|p| p.revision.as_deref() != Some(target))
        .collect();
    if old.is_empty() {
        return RolloutPlan {
            status: Some(base),
            ..RolloutPlan::default()
        };
    }
    // One shard out at a time: a pod on an old revision that is already out (a halted
    // rollout's broken shard) goes first; otherwise every kept pod must be Ready, and no
    // scale-down drain running.
    let out_old = old
        .iter()
        .filter(|p| !p.ready && !p.terminating)
        .map(|p| p.ordinal)
        .max();
    let all_ready = kept.iter().all(|p| p.ready && !p.terminating)
        && i64::try_from(kept.len()).ok() == Some(i64::from(obs.replicas));
    let Some(next) = out_old.or_else(|| old.iter().map(|p| p.ordinal).max()) else {
        return RolloutPlan::default();
    };
    if (out_old.is_none() && !all_ready) || obs.scale_drain {
        return RolloutPlan {
            status: Some(base),
            ..RolloutPlan::default()
        };
    }
    if updated == 0 {
        return RolloutPlan {
            status: Some(RolloutStatus {
                shard: Some(next),
                phase: Some(RolloutPhase::Proving),
                phase_since_ms: obs.now_ms,
                ..base
            }),
            canary: true,
            transition: Some(Transition::Proving { shard: next }),
            ..RolloutPlan::default()
        };
    }
    RolloutPlan {
        status: Some(RolloutStatus {
            shard: Some(next),
            phase: Some(RolloutPhase::Draining),
            phase_since_ms: obs.now_ms,
            deadline_ms: Some(obs.now_ms.saturating_add(obs.drain_timeout_ms)),
            ..base
        }),
        mark: shard(next),
        transition: Some(Transition::ShardStarted { shard: next }),
        ..RolloutPlan::default()
    }
}

/// The canary step: shard `i` starts draining once the canary is Ready (and every other
/// shard still is); a canary that cannot start, or is late, halts the rollout.
fn proving(
    obs: &Observed<'_>,
    kept: &[&PodView],
    p: RolloutStatus,
    updated: i32,
    i: i32,
) -> RolloutPlan {
    let canary = obs.canary.filter(|c| !c.terminating);
    let others_ready = kept
        .iter()
        .filter(|pod| pod.ordinal != i)
        .all(|pod| pod.ready && !pod.terminating);
    if canary.is_some_and(|c| c.ready) && others_ready && !obs.scale_drain {
        return RolloutPlan {
            status: Some(RolloutStatus {
                updated,
                phase: Some(RolloutPhase::Draining),
                phase_since_ms: obs.now_ms,
                deadline_ms: Some(obs.now_ms.saturating_add(obs.drain_timeout_ms)),
                ..p
            }),
            mark: shard(i),
            transition: Some(Transition::ShardStarted { shard: i }),
            ..RolloutPlan::default()
        };
    }
    let late = obs.now_ms.saturating_sub(p.phase_since_ms) >= obs.progress_deadline_ms;
    let reason = match (canary.and_then(|c| c.broken.as_deref()), late) {
        (Some(why), _) => Some(format!(
            "the canary pod of the new revision cannot start: {why}"
        )),
        (None, true) if !canary.is_some_and(|c| c.ready) => Some(format!(
            "the canary pod of the new revision was not Ready within {} s",
            obs.progress_deadline_ms / 1000
        )),
        _ => None,
    };
    RolloutPlan {
        transition: reason
            .clone()
            .map(|reason| Transition::Halted { shard: i, reason }),
        status: Some(RolloutStatus {
            updated,
            halted: reason,
            ..p
        }),
        canary: true,
        ..RolloutPlan::default()
    }
}
