//! Draining shards on scale-down.
//!
//! When `spec.shards` drops from N to M, shards M..N-1 are marked draining in Redis (the
//! matchmaker places no new seats there), and the StatefulSet keeps N pods until those
//! shards report zero players while draining (a heartbeat from before the worker saw the
//! mark may miss players who just joined) or the drain deadline passes. The drain's start and
//! deadline live in the set's status, so an operator restart keeps the deadline.
//!
//! When the drain ends, the marks stay: the StatefulSet drops the pods some time later,
//! and until then the shards must keep refusing seats. A worker removes its own mark when
//! it deregisters on the way out; a later scale-up removes the marks of the shards it
//! brings back.
//!
//! [`plan`] is the pure decision; the controller carries it out.

use crate::crd::DrainStatus;
use crate::redis_state::RedisView;

/// What the controller should do about draining this reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainPlan {
    /// Replicas the StatefulSet should have now.
    pub replicas: i32,
    /// The drain to record in status (`None`: no drain running).
    pub drain: Option<DrainStatus>,
    /// Shards to (re)mark draining in Redis.
    pub mark: Vec<u32>,
    /// Shards whose draining mark the operator should remove.
    pub unmark: Vec<u32>,
    /// A transition worth an Event.
    pub transition: Option<DrainTransition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainTransition {
    Started { from: i32, to: i32 },
    Completed { from: i32, to: i32 },
    TimedOut { from: i32, to: i32, players: u64 },
    Cancelled { from: i32, to: i32 },
}

/// Shards `lo..hi` as indices.
fn range(lo: i32, hi: i32) -> Vec<u32> {
    (lo.max(0)..hi.max(0))
        .filter_map(|i| u32::try_from(i).ok())
        .collect()
}

/// Players still connected to shards `to..from`; `None` when Redis could not be read.
/// A shard without a heartbeat has no live worker and so no players.
pub fn players_left(view: Option<&RedisView>, to: i32, from: i32) -> Option<u64> {
    let view = view?;
    Some(
        range(to, from)
            .iter()
            .filter_map(|i| view.heartbeats.get(i))
            .map(|hb| u64::from(hb.players))
            .sum(),
    )
}

/// True when every live worker of shards `to..from` has reported that it is draining.
/// Only then is its player count final: before, it still takes joins, and its last
/// heartbeat may predate players who have just joined.
fn settled(view: Option<&RedisView>, to: i32, from: i32) -> bool {
    view.is_some_and(|v| {
        range(to, from)
            .iter()
            .filter_map(|i| v.heartbeats.get(i))
            .all(|hb| hb.draining)
    })
}

/// Decides the StatefulSet's replicas and the drain state.
///
/// - `desired`: `spec.shards`;
/// - `current`: the StatefulSet's replicas now (`None` when it does not exist yet);
/// - `previous`: the drain recorded in status;
/// - `view`: Redis, or `None` when unreachable (then only the deadline ends a drain).
pub fn plan(
    desired: i32,
    current: Option<i32>,
    previous: Option<&DrainStatus>,
    view: Option<&RedisView>,
    timeout_seconds: i64,
    now_ms: i64,
) -> DrainPlan {
    // Shards a raised target brings back (drain 4 -> 2 retargeted to 3 frees shard 2).
    let reclaimed = previous.map(|d| range(d.to, desired)).unwrap_or_default();
    let (drain, started) = match (previous, current) {
        (Some(d), _) if desired >= d.from => {
            // Scaled back up while draining: the shards stay, and take seats again.
            return DrainPlan {
                replicas: desired,
                drain: None,
                mark: vec![],
                unmark: range(d.to.min(desired), d.from.max(desired)),
                transition: Some(DrainTransition::Cancelled {
                    from: d.from,
                    to: d.to,
                }),
            };
        }
        (Some(d), _) => (
            DrainStatus {
                to: desired,
                ..d.clone()
            },
            None,
        ),
        (None, Some(cur)) if cur > desired => {
            let d = DrainStatus {
                from: cur,
                to: desired,
                started_at_ms: now_ms,
                deadline_ms: now_ms.saturating_add(timeout_seconds.saturating_mul(1000)),
            };
            (
                d,
                Some(DrainTransition::Started {
                    from: cur,
                    to: desired,
                }),
            )
        }
        (None, current) => {
            return DrainPlan {
                replicas: desired,
                drain: None,
                mark: vec![],
                // Shards a scale-up brings back lose the mark an earlier drain left.
                unmark: current.map(|cur| range(cur, desired)).unwrap_or_default(),
                transition: None,
            };
        }
    };
    let left = players_left(view, drain.to, drain.from);
    let finished = match left {
        Some(0) if settled(view, drain.to, drain.from) => Some(DrainTransition::Completed {
            from: drain.from,
            to: drain.to,
        }),
        _ if now_ms >= drain.deadline_ms => Some(DrainTransition::TimedOut {
            from: drain.from,
            to: drain.to,
            players: left.unwrap_or(0),
        }),
        _ => None,
    };
    match finished {
        // A drain that starts and finishes in one pass still gets both events' worth of
        // meaning from the completion alone.
        // The shards stay marked until their pods are gone (see the module's notes).
        Some(transition) => DrainPlan {
            replicas: desired,
            drain: None,
            mark: vec![],
            unmark: vec![],
            transition: Some(transition),
        },
        None => DrainPlan {
            replicas: drain.from,
            mark: range(drain.to, drain.from),
            unmark: reclaimed,
            drain: Some(drain),
            transition: started,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomshard_protocol::records::ShardHeartbeat;

    /// A drain from `from` to `to` shards, started at 0 with a deadline at 10 s.
    fn draining(from: i32, to: i32) -> DrainStatus {
        DrainStatus {
            from,
            to,
            started_at_ms: 0,
            deadline_ms: 10_000,
        }
    }

    fn view(players: &[(u32, u32)]) -> RedisView {
        beats(players, true)
    }

    fn beats(players: &[(u32, u32)], draining: bool) -> RedisView {
        let mut v = RedisView::default();
        for &(index, p) in players {
            let hb = ShardHeartbeat::decode(
                format!(r#"{{"index":{index},"total":4,"players":{p},"draining":{draining}}}"#)
                    .as_bytes(),
            )
            .expect("heartbeat");
            v.heartbeats.insert(index, hb);
        }
        v
    }

    #[test]
    fn an_empty_shard_that_has_not_seen_the_mark_is_not_done() {
        // Its heartbeat may predate a join; only a draining worker's count is final.
        let stale = beats(&[(2, 0), (3, 0)], false);
        let p = plan(2, Some(4), None, Some(&stale), 300, 1_000);
        assert_eq!(p.replicas, 4);
        assert_eq!(p.mark, vec![2, 3]);
        let later = plan(2, Some(4), p.drain.as_ref(), Some(&stale), 300, 2_000);
        assert_eq!((later.replicas, later.transition), (4, None));
        let seen = plan(
            2,
            Some(4),
            p.drain.as_ref(),
            Some(&view(&[(2, 0)])),
            300,
            3_000,
        );
        assert_eq!(seen.replicas, 2);
        assert_eq!(
            seen.transition,
            Some(DrainTransition::Completed { from: 4, to: 2 })
        );
    }

    #[test]
    fn no_drain_when_growing_or_steady() {
        let p = plan(4, Some(2), None, None, 300, 0);
        assert_eq!((p.replicas, p.drain, p.transition), (4, None, None));
        let p = plan(3, None, None, None, 300, 0);
        assert_eq!(p.replicas, 3);
    }

    #[test]
    fn scale_down_waits_for_players_to_leave() {
        let busy = view(&[(0, 5), (2, 1), (3, 0)]);
        let p = plan(2, Some(4), None, Some(&busy), 300, 1_000);
        assert_eq!(p.replicas, 4);
        assert_eq!(p.mark, vec![2, 3]);
        assert_eq!(
            p.drain,
            Some(DrainStatus {
                from: 4,
                to: 2,
                started_at_ms: 1_000,
                deadline_ms: 301_000
            })
        );
        assert_eq!(
            p.transition,
            Some(DrainTransition::Started { from: 4, to: 2 })
        );

        // Next reconcile: still busy, the recorded start is kept.
        let again = plan(2, Some(4), p.drain.as_ref(), Some(&busy), 300, 5_000);
        assert_eq!(again.replicas, 4);
        assert_eq!(again.drain, p.drain);
        assert_eq!(again.transition, None);

        // Shard 0 still has players, but only 2 and 3 count.
        let empty = view(&[(0, 5), (2, 0)]);
        let done = plan(2, Some(4), p.drain.as_ref(), Some(&empty), 300, 6_000);
        assert_eq!(done.replicas, 2);
        assert_eq!(done.drain, None);
        // Still marked while the StatefulSet removes the pods.
        assert!(done.unmark.is_empty() && done.mark.is_empty());
        assert_eq!(
            done.transition,
            Some(DrainTransition::Completed { from: 4, to: 2 })
        );
    }

    #[test]
    fn deadline_ends_a_drain_even_without_redis() {
        let d = draining(4, 2);
        let p = plan(2, Some(4), Some(&d), None, 10, 9_999);
        assert_eq!(p.replicas, 4);
        let p = plan(2, Some(4), Some(&d), Some(&view(&[(3, 7)])), 10, 10_000);
        assert_eq!(p.replicas, 2);
        assert_eq!(
            p.transition,
            Some(DrainTransition::TimedOut {
                from: 4,
                to: 2,
                players: 7
            })
        );
    }

    #[test]
    fn scaling_back_up_cancels_and_lower_target_extends() {
        let d = draining(4, 2);
        let p = plan(4, Some(4), Some(&d), None, 10, 1);
        assert_eq!(p.replicas, 4);
        assert_eq!(p.unmark, vec![2, 3]);
        assert_eq!(
            p.transition,
            Some(DrainTransition::Cancelled { from: 4, to: 2 })
        );
        let p = plan(1, Some(4), Some(&d), Some(&view(&[(1, 2)])), 10, 1);
        assert_eq!(p.replicas, 4);
        assert_eq!(p.mark, vec![1, 2, 3]);
        assert_eq!(
            p.drain.map(|d| (d.from, d.to, d.deadline_ms)),
            Some((4, 1, 10_000))
        );
        let p = plan(3, Some(4), Some(&d), Some(&view(&[(3, 2)])), 10, 1);
        assert_eq!(
            (p.replicas, p.mark.clone(), p.unmark.clone()),
            (4, vec![3], vec![2])
        );
    }

    #[test]
    fn zero_timeout_finishes_at_once() {
        let p = plan(1, Some(3), None, None, 0, 50);
        assert_eq!(p.replicas, 1);
        assert!(p.unmark.is_empty());
    }

    #[test]
    fn scaling_up_unmarks_the_shards_it_brings_back() {
        let p = plan(4, Some(2), None, None, 300, 0);
        assert_eq!((p.replicas, p.unmark, p.transition), (4, vec![2, 3], None));
        let p = plan(2, Some(2), None, None, 300, 0);
        assert!(p.unmark.is_empty());
        let p = plan(3, None, None, None, 300, 0);
        assert!(p.unmark.is_empty());
        // Cancelled past the drain's start: the extra shards are unmarked too.
        let d = draining(3, 2);
        assert_eq!(
            plan(5, Some(3), Some(&d), None, 10, 1).unmark,
            vec![2, 3, 4]
        );
    }
}
