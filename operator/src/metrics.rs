//! The operator's Prometheus metrics, registered in one owned registry.

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge};
use roomshard_runtime::metrics::Registry;
use std::time::Duration;

pub const LABEL_REASON: &str = "reason";
pub const LABEL_OUTCOME: &str = "outcome";

pub struct Metrics {
    registry: Registry,
    pub reconciles: IntCounter,
    pub applies_skipped: IntCounter,
    pub failures: IntCounterVec,
    pub duration: HistogramVec,
    pub leader: IntGauge,
    pub drains: IntCounterVec,
    pub autoscale: IntCounterVec,
    pub rollouts: IntCounterVec,
    pub redis_errors: IntCounter,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let r = Registry::new()?;
        let failures = r.counter_vec(
            "operator_reconcile_failures_total",
            "Reconciles that failed, by reason",
            &[LABEL_REASON],
        )?;
        for reason in crate::FAILURE_REASONS {
            failures.with_label_values(&[*reason]);
        }
        Ok(Self {
            reconciles: r.counter("operator_reconciles_total", "Reconciles started")?,
            applies_skipped: r.counter(
                "operator_applies_skipped_total",
                "Reconciles that applied nothing: the children were as last applied",
            )?,
            failures,
            duration: r.histogram_vec(
                "operator_reconcile_duration_seconds",
                "Time one reconcile took",
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
                &[],
            )?,
            leader: r.gauge(
                "operator_leader",
                "1 while this replica holds the lease and runs the controller",
            )?,
            drains: r.counter_vec(
                "operator_drains_total",
                "Shard drains by outcome",
                &[LABEL_OUTCOME],
            )?,
            autoscale: r.counter_vec(
                "operator_autoscale_decisions_total",
                "Shard counts the autoscaler wrote, by direction (up, down)",
                &["direction"],
            )?,
            rollouts: r.counter_vec(
                "operator_rollout_steps_total",
                "Rollout steps by outcome (started, replaced, completed, halted)",
                &[LABEL_OUTCOME],
            )?,
            redis_errors: r.counter(
                "operator_redis_errors_total",
                "Redis calls that failed or timed out",
            )?,
            registry: r,
        })
    }

    pub fn observe_reconcile(&self, took: Duration) {
        self.duration
            .with_label_values::<&str>(&[])
            .observe(took.as_secs_f64());
    }

    pub fn failure(&self, reason: &str) {
        self.failures.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.registry.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed() {
        let m = Metrics::new().expect("metrics");
        m.reconciles.inc();
        m.failure("redis");
        m.observe_reconcile(Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains("roomshard_operator_reconcile_failures_total{reason=\"conflict\"} 0"),
            "failure reasons start at zero"
        );
        assert!(
            text.contains("roomshard_operator_reconciles_total 1"),
            "{text}"
        );
        assert!(text.contains("roomshard_operator_reconcile_failures_total{reason=\"redis\"} 1"));
        assert!(text.contains("roomshard_operator_reconcile_duration_seconds_bucket"));
    }
}
