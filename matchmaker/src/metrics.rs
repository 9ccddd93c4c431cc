//! The matchmaker's metrics, in one owned registry; every name starts with `roomshard_`.

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge};
use roomshard_runtime::metrics::Registry;

pub const OUTCOME: &str = "outcome";
pub const OP: &str = "op";
pub const ROUTE: &str = "route";
pub const METHOD: &str = "method";
pub const STATUS: &str = "status";

#[derive(Clone)]
pub struct Metrics {
    /// Where every metric below is registered; renders `/metrics`.
    pub registry: Registry,
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
    /// Requests refused 401, by reason (missing, expired, signature, issuer, ...).
    pub auth_failures: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let r = Registry::new()?;
        Ok(Self {
            auth_failures: r.counter_vec(
                "matchmaker_auth_failures_total",
                "Requests refused as unauthenticated, by reason.",
                &["reason"],
            )?,
            reservations: r.counter_vec(
                "matchmaker_reservations_total",
                "Reservation requests by outcome.",
                &[OUTCOME],
            )?,
            reserve_seconds: r.histogram_vec(
                "matchmaker_reserve_duration_seconds",
                "Time to answer a reservation request.",
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
                &[OUTCOME],
            )?,
            healthy_shards: r.gauge(
                "matchmaker_healthy_shards",
                "Shards that are healthy and not draining, at the last look.",
            )?,
            known_shards: r.gauge(
                "matchmaker_known_shards",
                "Shards registered in the set, at the last look.",
            )?,
            redis_errors: r.counter_vec(
                "matchmaker_redis_errors_total",
                "Failed or timed-out Redis calls.",
                &[OP],
            )?,
            bad_records: r.counter(
                "matchmaker_bad_records_total",
                "Shard heartbeats that could not be decoded and were treated as absent.",
            )?,
            lost_rooms: r.counter(
                "matchmaker_lost_rooms_total",
                "Rooms found on a shard that stopped beating.",
            )?,
            http_requests: r.counter_vec(
                "matchmaker_http_requests_total",
                "HTTP requests answered.",
                &[ROUTE, METHOD, STATUS],
            )?,
            registry: r,
        })
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
        let text = m.registry.render();
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
