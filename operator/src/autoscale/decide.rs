//! Occupancy autoscaling: the pure decision. The controller feeds it the players the
//! heartbeats report and writes what it decides to `spec.shards` (see
//! [`crate::crd::AutoscaleSpec`]).
//!
//! - **Up** at once to the shards that bring occupancy to the target, as soon as it has
//!   stayed above it for the stabilization window (default 0: the first reconcile that
//!   sees it, one heartbeat interval after the beat that crossed it).
//! - **Down** one shard at a time, each after the set has been larger than it needs for
//!   the scale-down delay, and only when one shard fewer would still sit at or below 90 %
//!   of the target: load hovering at the target never flips the set back and forth. The
//!   shard removed goes through the drain, and no step is taken while a drain runs.

use crate::crd::{AutoscaleSpec, AutoscaleStatus};

/// One shard fewer must leave occupancy at or below this share of the target.
const SCALE_DOWN_HEADROOM: f64 = 0.9;

/// What the set holds now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// `spec.shards`.
    pub shards: i32,
    pub seats_per_shard: u64,
    /// Players the live heartbeats report.
    pub players: u64,
    /// A drain is running.
    pub draining: bool,
}

/// A change of `spec.shards`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    pub from: i32,
    pub to: i32,
    pub reason: String,
}

impl Scale {
    pub fn direction(&self) -> &'static str {
        if self.to > self.from { "up" } else { "down" }
    }
}

/// Shards that hold `players` at `occupancy` or under, within the spec's bounds.
fn shards_for(spec: &AutoscaleSpec, players: u64, seats_per_shard: u64, occupancy: f64) -> i32 {
    let per_shard = (seats_per_shard as f64 * occupancy).max(1.0);
    let n = (players as f64 / per_shard).ceil();
    let n = if n.is_finite() {
        n.min(1024.0) as i32
    } else {
        1024
    };
    n.clamp(spec.min_shards, spec.max_shards.max(spec.min_shards))
}

fn percent(x: f64) -> i32 {
    if x.is_finite() {
        (x * 100.0).round().clamp(0.0, 1e6) as i32
    } else {
        0
    }
}

/// The autoscaler's status now and the change to make, if any.
pub fn decide(
    spec: &AutoscaleSpec,
    prev: Option<&AutoscaleStatus>,
    load: &Load,
    now_ms: i64,
) -> (AutoscaleStatus, Option<Scale>) {
    let target = spec.target();
    let seats = load
        .seats_per_shard
        .saturating_mul(load.shards.max(0) as u64);
    let occupancy = if seats == 0 {
        0.0
    } else {
        load.players as f64 / seats as f64
    };
    let needed = shards_for(spec, load.players, load.seats_per_shard, target);
    let floor = shards_for(
        spec,
        load.players,
        load.seats_per_shard,
        target * SCALE_DOWN_HEADROOM,
    );
    let prev = prev.cloned().unwrap_or_default();
    let mut st = AutoscaleStatus {
        occupancy_percent: percent(occupancy),
        desired_shards: needed,
        high_since_ms: None,
        low_since_ms: None,
        ..prev.clone()
    };
    let occ = percent(occupancy);
    let tgt = percent(target);
    let change = if needed > load.shards {
        let since = prev.high_since_ms.unwrap_or(now_ms);
        if now_ms.saturating_sub(since) >= spec.scale_up_stabilization_ms() {
            Some(Scale {
                from: load.shards,
                to: needed,
                reason: format!(
                    "occupancy {occ}% of {} shards is over the {tgt}% target: {} players need {needed}",
                    load.shards, load.players
                ),
            })
        } else {
            st.high_since_ms = Some(since);
            None
        }
    } else if floor < load.shards && !load.draining {
        let since = prev.low_since_ms.unwrap_or(now_ms);
        if now_ms.saturating_sub(since) >= spec.scale_down_delay_ms() {
            // The next step waits a whole delay again.
            st.low_since_ms = Some(now_ms);
            Some(Scale {
                from: load.shards,
                to: load.shards - 1,
                reason: format!(
                    "occupancy {occ}% of {} shards: {} players fit {floor} under {}% for {} s",
                    load.shards,
                    load.players,
                    percent(target * SCALE_DOWN_HEADROOM),
                    spec.scale_down_delay_ms() / 1000
                ),
            })
        } else {
            st.low_since_ms = Some(since);
            None
        }
    } else if floor < load.shards {
        // Draining: keep the clock, take the step after the drain.
        st.low_since_ms = prev.low_since_ms;
        None
    } else {
        None
    };
    if let Some(c) = &change {
        st.last_scale_ms = Some(now_ms);
        st.last_decision = c.reason.clone();
        st.decisions = prev.decisions.saturating_add(1);
    }
    (st, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(up: i64, down: i64) -> AutoscaleSpec {
        AutoscaleSpec {
            min_shards: 1,
            max_shards: 4,
            target_occupancy: Some(0.7),
            scale_up_stabilization_seconds: Some(up),
            scale_down_delay_seconds: Some(down),
        }
    }

    fn load(shards: i32, players: u64) -> Load {
        Load {
            shards,
            seats_per_shard: 100,
            players,
            draining: false,
        }
    }

    #[test]
    fn scales_up_at_once_to_what_the_target_needs() {
        let (st, change) = decide(&spec(0, 60), None, &load(1, 150), 1_000);
        let change = change.expect("a scale-up");
        assert_eq!(
            (change.from, change.to),
            (1, 3),
            "150 players at 70 seats a shard"
        );
        assert_eq!(change.direction(), "up");
        assert_eq!(st.occupancy_percent, 150);
        assert_eq!(st.decisions, 1);
        assert_eq!(st.last_scale_ms, Some(1_000));
        // Capped at maxShards.
        let (_, change) = decide(&spec(0, 60), None, &load(1, 10_000), 0);
        assert_eq!(change.map(|c| c.to), Some(4));
    }

    #[test]
    fn a_stabilization_window_waits_for_occupancy_to_stay_high() {
        let s = spec(10, 60);
        let (st, change) = decide(&s, None, &load(1, 80), 0);
        assert!(change.is_none());
        assert_eq!(st.high_since_ms, Some(0));
        let (st, change) = decide(&s, Some(&st), &load(1, 80), 9_999);
        assert!(change.is_none());
        let (_, change) = decide(&s, Some(&st), &load(1, 80), 10_000);
        assert_eq!(change.map(|c| c.to), Some(2));
        // A dip below the target restarts the window.
        let (st, _) = decide(&s, None, &load(1, 80), 0);
        let (st, _) = decide(&s, Some(&st), &load(1, 50), 5_000);
        assert_eq!(st.high_since_ms, None);
        let (_, change) = decide(&s, Some(&st), &load(1, 80), 12_000);
        assert!(change.is_none());
    }

    #[test]
    fn scales_down_one_shard_a_delay_and_never_below_min() {
        let s = spec(0, 30);
        let (st, change) = decide(&s, None, &load(3, 10), 0);
        assert!(change.is_none(), "the delay starts");
        let (st, change) = decide(&s, Some(&st), &load(3, 10), 30_000);
        assert_eq!(change.as_ref().map(|c| (c.from, c.to)), Some((3, 2)));
        assert_eq!(change.map(|c| c.direction()), Some("down"));
        let (st, change) = decide(&s, Some(&st), &load(2, 10), 45_000);
        assert!(change.is_none(), "a whole delay again");
        let (st, change) = decide(&s, Some(&st), &load(2, 10), 60_000);
        assert_eq!(change.map(|c| c.to), Some(1));
        let (_, change) = decide(&s, Some(&st), &load(1, 0), 200_000);
        assert!(change.is_none(), "minShards");
    }

    #[test]
    fn no_step_down_while_draining_or_inside_the_headroom() {
        let s = spec(0, 0);
        let mut l = load(3, 10);
        l.draining = true;
        let (_, change) = decide(&s, None, &l, 0);
        assert!(change.is_none());
        // 2 shards hold 130 players at 65 %: under the 70 % target but over 63 %.
        let (st, change) = decide(&s, None, &load(3, 130), 0);
        assert!(change.is_none());
        assert_eq!(st.desired_shards, 2);
        // Hovering at the target: up to 2 at 71 %, and at 69 % it stays.
        let (_, change) = decide(&s, None, &load(1, 71), 0);
        assert_eq!(change.map(|c| c.to), Some(2));
        let (_, change) = decide(&s, None, &load(2, 69), 0);
        assert!(change.is_none());
    }

    #[test]
    fn odd_inputs_decide_nothing_wild() {
        let (st, change) = decide(&spec(0, 0), None, &load(1, 0), 0);
        assert!(change.is_none());
        assert_eq!(st.occupancy_percent, 0);
        let mut l = load(2, 50);
        l.seats_per_shard = 0;
        let (_, change) = decide(&spec(0, 0), None, &l, 0);
        assert_eq!(
            change.map(|c| c.to),
            Some(4),
            "no seats: as many shards as allowed"
        );
    }
}
