use super::plan::*;
use crate::crd::{RolloutPhase, RolloutStatus};
use crate::redis_state::RedisView;
use roomshard_protocol::records::ShardHeartbeat;

fn pod(ordinal: i32, rev: &str, ready: bool) -> PodView {
    PodView {
        ordinal,
        revision: Some(rev.into()),
        ready,
        terminating: false,
        broken: None,
    }
}

fn view(beats: &[(u32, u32, bool)]) -> RedisView {
    let mut v = RedisView::default();
    for &(index, players, draining) in beats {
        let hb: ShardHeartbeat = serde_json::from_value(serde_json::json!({
            "index": index, "total": 3, "players": players, "draining": draining
        }))
        .expect("heartbeat");
        v.heartbeats.insert(index, hb);
    }
    v
}

fn obs<'a>(pods: &'a [PodView], v: &'a RedisView, now_ms: i64) -> Observed<'a> {
    Observed {
        update_revision: Some("new"),
        replicas: 3,
        pods,
        canary: None,
        view: Some(v),
        scale_drain: false,
        drain_timeout_ms: 30_000,
        progress_deadline_ms: 60_000,
        now_ms,
    }
}

#[test]
fn nothing_to_do_when_every_pod_is_on_the_revision() {
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "new", true),
    ];
    let p = plan(None, &obs(&pods, &view(&[]), 0));
    assert_eq!(p.delete, None);
    assert!(p.mark.is_empty() && p.transition.is_none());
    let st = p.status.expect("status");
    assert_eq!((st.updated, st.shard), (3, None));
}

#[test]
fn one_shard_at_a_time_highest_first_drained_then_replaced() {
    let v = view(&[(0, 5, false), (1, 5, false), (2, 5, false)]);
    let mut pods = vec![
        pod(0, "old", true),
        pod(1, "old", true),
        pod(2, "old", true),
    ];
    // No pod on the new revision yet: its canary goes first, and no shard is touched.
    let p = plan(None, &obs(&pods, &v, 500));
    assert_eq!(p.transition, Some(Transition::Proving { shard: 2 }));
    assert!(p.canary && p.mark.is_empty() && p.delete.is_none());
    let st = p.status.expect("status");
    assert_eq!(st.phase, Some(RolloutPhase::Proving));
    let starting = pod(-1, "new", false);
    let p = plan(
        Some(&st),
        &Observed {
            canary: Some(&starting),
            ..obs(&pods, &v, 700)
        },
    );
    assert!(p.canary && p.mark.is_empty() && p.transition.is_none());
    let ready = pod(-1, "new", true);
    let p = plan(
        p.status.as_ref(),
        &Observed {
            canary: Some(&ready),
            ..obs(&pods, &v, 1_000)
        },
    );
    assert_eq!(p.transition, Some(Transition::ShardStarted { shard: 2 }));
    assert_eq!((p.mark.clone(), p.delete), (vec![2], None));
    assert!(!p.canary, "the proven canary goes");
    let st = p.status.expect("status");
    assert_eq!(st.phase, Some(RolloutPhase::Draining));
    assert_eq!(st.deadline_ms, Some(31_000));

    // Players still there: it waits, and keeps the mark.
    let p = plan(Some(&st), &obs(&pods, &v, 2_000));
    assert_eq!((p.mark.clone(), p.delete), (vec![2], None));
    // The worker has seen the mark and its players have left: the pod goes.
    let drained = view(&[(0, 5, false), (1, 5, false), (2, 0, true)]);
    let p = plan(p.status.as_ref(), &obs(&pods, &drained, 3_000));
    assert_eq!(p.delete, Some(2));
    let st = p.status.expect("status");
    assert_eq!(st.phase, Some(RolloutPhase::Replacing));

    // The new pod comes up; until it is Ready nothing else moves.
    pods[2] = pod(2, "new", false);
    let p = plan(Some(&st), &obs(&pods, &drained, 4_000));
    assert_eq!((p.delete, p.transition.clone()), (None, None));
    pods[2] = pod(2, "new", true);
    let p = plan(p.status.as_ref(), &obs(&pods, &drained, 5_000));
    assert_eq!(p.transition, Some(Transition::ShardReplaced { shard: 2 }));
    assert_eq!(p.unmark, vec![2]);
    // Next: shard 1.
    let p = plan(p.status.as_ref(), &obs(&pods, &v, 6_000));
    assert_eq!(p.transition, Some(Transition::ShardStarted { shard: 1 }));
}

#[test]
fn the_drain_deadline_replaces_a_shard_with_players_left() {
    let v = view(&[(0, 5, false), (1, 5, false), (2, 5, true)]);
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "old", true),
    ];
    let p = plan(None, &obs(&pods, &v, 0));
    let p = plan(p.status.as_ref(), &obs(&pods, &v, 29_999));
    assert_eq!(p.delete, None);
    let p = plan(p.status.as_ref(), &obs(&pods, &v, 30_000));
    assert_eq!(p.delete, Some(2));
}

#[test]
fn the_last_shard_completes_the_rollout() {
    let v = view(&[]);
    let st = RolloutStatus {
        revision: "new".into(),
        updated: 2,
        shard: Some(0),
        phase: Some(RolloutPhase::Replacing),
        phase_since_ms: 0,
        deadline_ms: None,
        halted: None,
    };
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "new", true),
    ];
    let p = plan(Some(&st), &obs(&pods, &v, 1_000));
    assert_eq!(p.transition, Some(Transition::Completed));
    assert_eq!(p.status.map(|s| (s.updated, s.shard)), Some((3, None)));
}

#[test]
fn a_broken_revision_halts_and_a_new_one_starts_over() {
    let v = view(&[]);
    let st = RolloutStatus {
        revision: "new".into(),
        updated: 0,
        shard: Some(2),
        phase: Some(RolloutPhase::Replacing),
        phase_since_ms: 0,
        deadline_ms: None,
        halted: None,
    };
    let mut crashing = pod(2, "new", false);
    crashing.broken = Some("CrashLoopBackOff".into());
    let pods = [pod(0, "old", true), pod(1, "old", true), crashing];
    let p = plan(Some(&st), &obs(&pods, &v, 1_000));
    assert!(matches!(
        p.transition,
        Some(Transition::Halted { shard: 2, .. })
    ));
    assert_eq!(p.mark, vec![2]);
    let halted = p.status.expect("status");
    assert!(halted.halted.is_some());
    // Halted: nothing more is deleted, however long it waits.
    let p = plan(Some(&halted), &obs(&pods, &v, 1_000_000));
    assert_eq!((p.delete, p.transition.clone()), (None, None));
    // Not Ready past the deadline halts too.
    let slow = [
        pod(0, "old", true),
        pod(1, "old", true),
        pod(2, "new", false),
    ];
    let p = plan(Some(&st), &obs(&slow, &v, 59_999));
    assert!(p.transition.is_none());
    let p = plan(Some(&st), &obs(&slow, &v, 60_000));
    assert!(matches!(p.transition, Some(Transition::Halted { .. })));
    // A fixed template is a new revision: the broken shard goes first (highest).
    let mut fixed = obs(&pods, &v, 2_000_000);
    fixed.update_revision = Some("fixed");
    let p = plan(Some(&halted), &fixed);
    assert_eq!(p.transition, Some(Transition::Proving { shard: 2 }));
}

#[test]
fn a_canary_that_cannot_start_halts_with_every_shard_untouched() {
    let v = view(&[(0, 5, false), (1, 5, false), (2, 5, false)]);
    let pods = [
        pod(0, "old", true),
        pod(1, "old", true),
        pod(2, "old", true),
    ];
    let started = plan(None, &obs(&pods, &v, 0)).status;
    let mut broken = pod(-1, "new", false);
    broken.broken = Some("ErrImageNeverPull".into());
    let p = plan(
        started.as_ref(),
        &Observed {
            canary: Some(&broken),
            ..obs(&pods, &v, 100)
        },
    );
    assert!(
        matches!(p.transition, Some(Transition::Halted { ref reason, .. }) if reason.contains("ErrImageNeverPull"))
    );
    assert!(p.mark.is_empty() && p.delete.is_none() && p.canary);
    let halted = p.status.expect("status");
    // Halted: no mark, no delete, the canary kept for inspection.
    let p = plan(Some(&halted), &obs(&pods, &v, 1_000_000));
    assert!(p.mark.is_empty() && p.delete.is_none() && p.canary && p.transition.is_none());
    // A canary never Ready halts at the progress deadline.
    let slow = pod(-1, "new", false);
    let p = plan(
        started.as_ref(),
        &Observed {
            canary: Some(&slow),
            ..obs(&pods, &v, 59_999)
        },
    );
    assert!(p.transition.is_none());
    let p = plan(
        started.as_ref(),
        &Observed {
            canary: Some(&slow),
            ..obs(&pods, &v, 60_000)
        },
    );
    assert!(matches!(p.transition, Some(Transition::Halted { .. })));
    assert!(p.mark.is_empty());
    // A Ready canary waits while another shard is out.
    let ready = pod(-1, "new", true);
    let out = [
        pod(0, "old", true),
        pod(1, "old", false),
        pod(2, "old", true),
    ];
    let p = plan(
        started.as_ref(),
        &Observed {
            canary: Some(&ready),
            ..obs(&out, &v, 10)
        },
    );
    assert!(p.transition.is_none() && p.mark.is_empty() && p.canary);
}

#[test]
fn waits_for_unready_pods_and_scale_drains() {
    let v = view(&[]);
    // A new pod still starting: wait for it.
    let pods = [
        pod(0, "old", true),
        pod(1, "new", false),
        pod(2, "old", true),
    ];
    let p = plan(None, &obs(&pods, &v, 0));
    assert!(p.transition.is_none() && p.mark.is_empty());
    // An old pod that is out already is the one to move first.
    let pods = [
        pod(0, "old", true),
        pod(1, "old", false),
        pod(2, "old", true),
    ];
    let p = plan(None, &obs(&pods, &v, 0));
    assert_eq!(p.transition, Some(Transition::Proving { shard: 1 }));
    let pods = [pod(0, "old", true), pod(1, "old", true)];
    let p = plan(None, &obs(&pods, &v, 0));
    assert!(p.transition.is_none(), "a pod is missing");
    let pods = [
        pod(0, "old", true),
        pod(1, "old", true),
        pod(2, "old", true),
    ];
    let mut o = obs(&pods, &v, 0);
    o.scale_drain = true;
    assert!(plan(None, &o).transition.is_none());
    // Pods past the kept shards (a scale-down) are not rolled.
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "new", true),
        pod(3, "old", true),
    ];
    let p = plan(None, &obs(&pods, &v, 0));
    assert!(p.transition.is_none());
}

#[test]
fn a_stale_draining_status_never_deletes_the_new_pod() {
    let st = RolloutStatus {
        revision: "new".into(),
        updated: 1,
        shard: Some(2),
        phase: Some(RolloutPhase::Draining),
        phase_since_ms: 0,
        deadline_ms: Some(0),
        halted: None,
    };
    let pods = [
        pod(0, "old", true),
        pod(1, "old", true),
        pod(2, "new", false),
    ];
    let p = plan(Some(&st), &obs(&pods, &view(&[]), 5_000));
    assert_eq!(p.delete, None);
    assert_eq!(
        p.status.and_then(|s| s.phase),
        Some(RolloutPhase::Replacing)
    );
}

#[test]
fn a_worker_that_hands_off_is_replaced_with_its_players() {
    let mut v = view(&[(0, 5, false), (1, 5, false), (2, 5, true)]);
    if let Some(hb) = v.heartbeats.get_mut(&2) {
        hb.handoff = true;
    }
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "old", true),
    ];
    let p = plan(None, &obs(&pods, &v, 0));
    assert_eq!(p.transition, Some(Transition::ShardStarted { shard: 2 }));
    let p = plan(p.status.as_ref(), &obs(&pods, &v, 1));
    assert_eq!(p.delete, Some(2), "five players, handed over");
}

#[test]
fn an_idle_rollout_status_does_not_change_with_the_clock() {
    let pods = [
        pod(0, "new", true),
        pod(1, "new", true),
        pod(2, "new", true),
    ];
    let first = plan(None, &obs(&pods, &view(&[]), 1_000)).status;
    let later = plan(first.as_ref(), &obs(&pods, &view(&[]), 9_000)).status;
    assert_eq!(first, later);
}
