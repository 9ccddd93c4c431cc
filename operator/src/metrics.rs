//! The operator's Prometheus metrics, registered in one owned registry.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

pub const LABEL_REASON: &str = "reason";
pub const LABEL_OUTCOME: &str = "outcome";

pub struct Metrics {
    registry: Registry,
    pub reconciles: IntCounter,
    pub failures: IntCounterVec,
    pub duration: HistogramVec,
    pub leader: IntGauge,
    pub drains: IntCounterVec,
    pub redis_errors: IntCounter,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("roomshard".into()), None)?;
        let reconciles = IntCounter::new("operator_reconciles_total", "Reconciles started")?;
        let failures = IntCounterVec::new(
            Opts::new(
                "operator_reconcile_failures_total",
                "Reconciles that failed, by reason",
            ),
            &[LABEL_REASON],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "operator_reconcile_duration_seconds",
                "Time one reconcile took",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &[],
        )?;
        let leader = IntGauge::new(
            "operator_leader",
            "1 while this replica holds the lease and runs the controller",
        )?;
        let drains = IntCounterVec::new(
            Opts::new("operator_drains_total", "Shard drains by outcome"),
            &[LABEL_OUTCOME],
        )?;
        let redis_errors = IntCounter::new(
            "operator_redis_errors_total",
            "Redis calls that failed or timed out",
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        registry.register(Box::new(drains.clone()))?;
        registry.register(Box::new(redis_errors.clone()))?;
        for reason in crate::FAILURE_REASONS {
            failures.with_label_values(&[*reason]);
        }
        Ok(Self {
            registry,
            reconciles,
            failures,
            duration,
            leader,
            drains,
            redis_errors,
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
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
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
