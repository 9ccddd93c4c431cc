//! The matchmaker's metrics, in one owned registry; every name starts with `roomshard_`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub const OUTCOME: &str = "outcome";
pub const OP: &str = "op";
pub const ROUTE: &str = "route";
pub const METHOD: &str = "method";
pub const STATUS: &str = "status";

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Reservations by outcome: granted, reused, room_full, room_not_found, no_capacity,
    /// redis_unavailable, bad_request.
    pub reservations: IntCounterVec,
    /// Time to answer a reserve, whatever the outcome.
    pub reserve_seconds: HistogramVec,
    /// Shards that take seats (healthy and not draining) at the last look.
    pub healthy_shards: IntGauge,
    /// Shards registered at the last look.
    pub known_shards: IntGauge,
    /// Failed Redis calls, by operation.
    pub redis_errors: IntCounterVec,
    /// Heartbeat records that could not be decoded.
    pub bad_records: IntCounter,
    /// Rooms newly found on a shard that stopped beating.
    pub lost_rooms: IntCounter,
    /// HTTP requests by matched route, method and status.
    pub http_requests: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("roomshard".into()), None)?;
        let reservations = IntCounterVec::new(
            Opts::new(
                "matchmaker_reservations_total",
                "Reservation requests by outcome.",
            ),
            &[OUTCOME],
        )?;
        let reserve_seconds = HistogramVec::new(
            HistogramOpts::new(
                "matchmaker_reserve_duration_seconds",
                "Time to answer a reservation request.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &[OUTCOME],
        )?;
        let healthy_shards = IntGauge::new(
            "matchmaker_healthy_shards",
            "Shards that are healthy and not draining, at the last look.",
        )?;
        let known_shards = IntGauge::new(
            "matchmaker_known_shards",
            "Shards registered in the set, at the last look.",
        )?;
        let redis_errors = IntCounterVec::new(
            Opts::new(
                "matchmaker_redis_errors_total",
                "Failed or timed-out Redis calls.",
            ),
            &[OP],
        )?;
        let bad_records = IntCounter::new(
            "matchmaker_bad_records_total",
            "Shard heartbeats that could not be decoded and were treated as absent.",
        )?;
        let lost_rooms = IntCounter::new(
            "matchmaker_lost_rooms_total",
            "Rooms found on a shard that stopped beating.",
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new("matchmaker_http_requests_total", "HTTP requests answered."),
            &[ROUTE, METHOD, STATUS],
        )?;
        registry.register(Box::new(reservations.clone()))?;
        registry.register(Box::new(reserve_seconds.clone()))?;
        registry.register(Box::new(healthy_shards.clone()))?;
        registry.register(Box::new(known_shards.clone()))?;
        registry.register(Box::new(redis_errors.clone()))?;
        registry.register(Box::new(bad_records.clone()))?;
        registry.register(Box::new(lost_rooms.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        Ok(Self {
            registry,
            reservations,
            reserve_seconds,
            healthy_shards,
            known_shards,
            redis_errors,
            bad_records,
            lost_rooms,
            http_requests,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed() {
        let m = Metrics::new().expect("registers");
        m.reservations.with_label_values(&["granted"]).inc();
        m.reserve_seconds
            .with_label_values(&["granted"])
            .observe(0.001);
        m.redis_errors.with_label_values(&["reserve"]).inc();
        m.http_requests
            .with_label_values(&["/reserve", "POST", "200"])
            .inc();
        let text = m.render();
        for name in [
            "roomshard_matchmaker_reservations_total{outcome=\"granted\"} 1",
            "roomshard_matchmaker_reserve_duration_seconds_bucket",
            "roomshard_matchmaker_healthy_shards",
            "roomshard_matchmaker_redis_errors_total{op=\"reserve\"} 1",
            "roomshard_matchmaker_http_requests_total",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("roomshard_"), "{line}");
        }
    }
}
