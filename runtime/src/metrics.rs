//! Prometheus metrics in a registry the process owns (never the crate's global one), every
//! name prefixed `roomshard_`. Each binary keeps its own `Metrics` struct naming what it
//! measures; this is where those are registered and rendered.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, TextEncoder,
};

/// What every metric name starts with (then `_`).
pub const PREFIX: &str = "roomshard";

/// An owned registry: names are given without the prefix (`worker_connections` is exported
/// as `roomshard_worker_connections`).
#[derive(Clone)]
pub struct Registry {
    inner: prometheus::Registry,
}

impl Registry {
    pub fn new() -> prometheus::Result<Self> {
        Ok(Self {
            inner: prometheus::Registry::new_custom(Some(PREFIX.into()), None)?,
        })
    }

    /// Registers `metric` and hands it back.
    pub fn register<M: Collector + Clone + 'static>(&self, metric: M) -> prometheus::Result<M> {
        self.inner.register(Box::new(metric.clone()))?;
        Ok(metric)
    }

    pub fn counter(&self, name: &str, help: &str) -> prometheus::Result<IntCounter> {
        self.register(IntCounter::new(name, help)?)
    }

    pub fn counter_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> prometheus::Result<IntCounterVec> {
        self.register(IntCounterVec::new(Opts::new(name, help), labels)?)
    }

    pub fn gauge(&self, name: &str, help: &str) -> prometheus::Result<IntGauge> {
        self.register(IntGauge::new(name, help)?)
    }

    /// A gauge of fractional values (seconds, timestamps).
    pub fn float_gauge(&self, name: &str, help: &str) -> prometheus::Result<Gauge> {
        self.register(Gauge::new(name, help)?)
    }

    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
    ) -> prometheus::Result<Histogram> {
        self.register(Histogram::with_opts(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        )?)
    }

    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
        labels: &[&str],
    ) -> prometheus::Result<HistogramVec> {
        self.register(HistogramVec::new(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
            labels,
        )?)
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.inner.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_the_prefix_and_render_as_text() {
        let r = Registry::new().expect("registry");
        let joins = r
            .counter_vec("test_joins_total", "Joins by outcome", &["outcome"])
            .expect("counter");
        let open = r.gauge("test_open", "Open things").expect("gauge");
        let age = r.float_gauge("test_age_seconds", "Age").expect("gauge");
        let took = r
            .histogram("test_seconds", "Time taken", &[0.1, 1.0])
            .expect("histogram");
        let by = r
            .histogram_vec("test_by_seconds", "Time by op", &[1.0], &["op"])
            .expect("histogram");
        r.counter("test_total", "Things").expect("counter").inc();
        joins.with_label_values(&["ok"]).inc_by(2);
        open.set(3);
        age.set(1.5);
        took.observe(0.5);
        by.with_label_values(&["get"]).observe(0.5);
        let text = r.render();
        let expected = [
            "# HELP roomshard_test_joins_total Joins by outcome",
            "# TYPE roomshard_test_joins_total counter",
            "roomshard_test_joins_total{outcome=\"ok\"} 2",
            "roomshard_test_open 3",
            "roomshard_test_age_seconds 1.5",
            "roomshard_test_seconds_bucket{le=\"0.1\"} 0",
            "roomshard_test_seconds_bucket{le=\"1\"} 1",
            "roomshard_test_by_seconds_count{op=\"get\"} 1",
            "roomshard_test_total 1",
        ];
        let missing: Vec<&str> = expected
            .into_iter()
            .filter(|want| !text.lines().any(|l| l == *want))
            .collect();
        assert!(missing.is_empty(), "{missing:?} missing from\n{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("roomshard_"), "{line}");
        }
    }

    #[test]
    fn a_name_registers_once() {
        let r = Registry::new().expect("registry");
        r.counter("twice_total", "Once").expect("first");
        assert!(r.counter("twice_total", "Again").is_err());
    }
}
