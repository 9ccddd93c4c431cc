//! The worker's Prometheus metrics, in one registry owned by the process.

use prometheus::{
    Gauge, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
};
use roomshard_runtime::metrics::Registry;

pub const LABEL_EVENT: &str = "event";
pub const LABEL_CODE: &str = "code";
pub const LABEL_OP: &str = "op";
pub const LABEL_OUTCOME: &str = "outcome";
pub const LABEL_REASON: &str = "reason";
pub const LABEL_HOOK: &str = "hook";

pub struct Metrics {
    registry: Registry,
    pub connections: IntGauge,
    pub connections_refused: IntCounterVec,
    pub rooms: IntGauge,
    pub players: IntGauge,
    pub players_away: IntGauge,
    pub resumes: IntCounterVec,
    pub events_in: IntCounterVec,
    pub events_out: IntCounterVec,
    pub rejected: IntCounterVec,
    pub custom_events: IntCounterVec,
    pub joins: IntCounterVec,
    pub disconnects: IntCounterVec,
    pub view_batches: IntCounter,
    pub view_batch_entities: Histogram,
    pub fanout_latency: Histogram,
    pub tick_duration: Histogram,
    pub redis_errors: IntCounterVec,
    pub sync_dropped: IntCounter,
    pub view_dropped: IntCounter,
    pub heartbeats: IntCounter,
    pub heartbeat_last_success: Gauge,
    pub heartbeat_age: Gauge,
    pub draining: IntGauge,
    pub hook_calls: IntCounterVec,
    pub hook_duration: HistogramVec,
    pub hook_breaker_open: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new()?;
        Ok(Self {
            connections: r.gauge(
                "worker_connections",
                "Socket.IO connections open on this worker",
            )?,
            connections_refused: r.counter_vec(
                "worker_connections_refused_total",
                "Client connections closed as they arrived, by the cap they passed \
                 (max_connections, max_connections_per_ip)",
                &[LABEL_REASON],
            )?,
            rooms: r.gauge(
                "worker_rooms",
                "Rooms with at least one player on this worker",
            )?,
            players: r.gauge(
                "worker_players",
                "Players joined to a room through this worker",
            )?,
            players_away: r.gauge(
                "worker_players_away",
                "Players whose connection dropped, held for their resume window",
            )?,
            resumes: r.counter_vec(
                "worker_resumes_total",
                "Resume attempts by outcome (ok or the refusal code), and windows that ran \
                 out (expired)",
                &[LABEL_OUTCOME],
            )?,
            events_in: r.counter_vec(
                "worker_events_in_total",
                "Socket.IO events received, by event",
                &[LABEL_EVENT],
            )?,
            events_out: r.counter_vec(
                "worker_events_out_total",
                "Socket.IO emissions (one per target room or socket), by event",
                &[LABEL_EVENT],
            )?,
            rejected: r.counter_vec(
                "worker_rejected_events_total",
                "Events refused, by error code",
                &[LABEL_CODE],
            )?,
            custom_events: r.counter_vec(
                "worker_custom_events_total",
                "Custom events sent by this worker's players, by declared event and outcome \
                 (relayed, or the error code); only declared names are labels",
                &[LABEL_EVENT, LABEL_OUTCOME],
            )?,
            joins: r.counter_vec(
                "worker_joins_total",
                "Join attempts, by outcome (ok or the error code)",
                &[LABEL_OUTCOME],
            )?,
            disconnects: r.counter_vec(
                "worker_forced_disconnects_total",
                "Sockets closed by the worker, by reason",
                &[LABEL_REASON],
            )?,
            view_batches: r.counter(
                "worker_view_batches_total",
                "View batches emitted (one per observed cell or crossing player per tick)",
            )?,
            view_batch_entities: r.histogram(
                "worker_view_batch_entities",
                "Entities (moved + entered + left) in one view batch",
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
            )?,
            fanout_latency: r.histogram(
                "worker_fanout_latency_seconds",
                "From a move received to the view batch carrying it emitted",
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                ],
            )?,
            tick_duration: r.histogram(
                "worker_tick_duration_seconds",
                "Time to compute and emit one tick of all rooms",
                &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
            )?,
            redis_errors: r.counter_vec(
                "worker_redis_errors_total",
                "Redis commands that failed or timed out, by operation",
                &[LABEL_OP],
            )?,
            sync_dropped: r.counter(
                "worker_sync_messages_dropped_total",
                "Room-sync and presence messages lost because Redis was unreachable or slow",
            )?,
            view_dropped: r.counter(
                "worker_view_dropped_total",
                "View batches a recipient missed because its send queue was full or closed",
            )?,
            heartbeats: r.counter("worker_heartbeats_total", "Heartbeats written to Redis")?,
            heartbeat_last_success: r.float_gauge(
                "worker_heartbeat_last_success_timestamp_seconds",
                "Unix time of the last heartbeat Redis accepted",
            )?,
            heartbeat_age: r.float_gauge(
                "worker_heartbeat_age_seconds",
                "Seconds since the last heartbeat Redis accepted (at scrape time)",
            )?,
            draining: r.gauge(
                "worker_draining",
                "1 while the worker drains before shutting down",
            )?,
            hook_calls: r.counter_vec(
                "worker_hook_calls_total",
                "Server hook calls, by hook and outcome (ok, timeout, status, garbage, \
                 unreachable, breaker_open, busy); a refusal in a valid answer is ok",
                &[LABEL_HOOK, LABEL_OUTCOME],
            )?,
            hook_duration: r.histogram_vec(
                "worker_hook_duration_seconds",
                "Time from a hook request sent to its answer read (or its deadline)",
                &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
                &[LABEL_HOOK],
            )?,
            hook_breaker_open: r.register(IntGaugeVec::new(
                prometheus::Opts::new(
                    "worker_hook_breaker_open",
                    "1 while a hook's circuit breaker holds its calls off",
                ),
                &[LABEL_HOOK],
            )?)?,
            registry: r,
        })
    }

    pub fn event_in(&self, event: &str) {
        self.events_in.with_label_values(&[event]).inc();
    }

    pub fn event_out(&self, event: &str) {
        self.events_out.with_label_values(&[event]).inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let last = self.heartbeat_last_success.get();
        if last > 0.0 {
            let now = roomshard_protocol::now_ms() as f64 / 1000.0;
            self.heartbeat_age.set((now - last).max(0.0));
        }
        self.registry.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_prefixed_and_rendered() {
        let m = Metrics::new().expect("registers");
        m.event_in("move");
        m.event_out("view");
        m.redis_errors.with_label_values(&["heartbeat"]).inc();
        m.joins.with_label_values(&["ok"]).inc();
        m.rejected.with_label_values(&["bad_request"]).inc();
        m.disconnects.with_label_values(&["rate_limited"]).inc();
        let text = m.render();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("roomshard_"), "{line}");
        }
        assert!(text.contains("roomshard_worker_events_in_total{event=\"move\"} 1"));
        assert!(text.contains("roomshard_worker_fanout_latency_seconds_bucket"));
    }
}
