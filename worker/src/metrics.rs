//! The worker's Prometheus metrics, in one registry owned by the process.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub const LABEL_EVENT: &str = "event";
pub const LABEL_CODE: &str = "code";
pub const LABEL_OP: &str = "op";
pub const LABEL_OUTCOME: &str = "outcome";
pub const LABEL_REASON: &str = "reason";

pub struct Metrics {
    registry: Registry,
    pub connections: IntGauge,
    pub rooms: IntGauge,
    pub players: IntGauge,
    pub events_in: IntCounterVec,
    pub events_out: IntCounterVec,
    pub rejected: IntCounterVec,
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
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let m = Self {
            connections: IntGauge::new(
                "roomshard_worker_connections",
                "Socket.IO connections open on this worker",
            )?,
            rooms: IntGauge::new(
                "roomshard_worker_rooms",
                "Rooms with at least one player on this worker",
            )?,
            players: IntGauge::new(
                "roomshard_worker_players",
                "Players joined to a room through this worker",
            )?,
            events_in: counter_vec(
                "roomshard_worker_events_in_total",
                "Socket.IO events received, by event",
                &[LABEL_EVENT],
            )?,
            events_out: counter_vec(
                "roomshard_worker_events_out_total",
                "Socket.IO emissions (one per target room or socket), by event",
                &[LABEL_EVENT],
            )?,
            rejected: counter_vec(
                "roomshard_worker_rejected_events_total",
                "Events refused, by error code",
                &[LABEL_CODE],
            )?,
            joins: counter_vec(
                "roomshard_worker_joins_total",
                "Join attempts, by outcome (ok or the error code)",
                &[LABEL_OUTCOME],
            )?,
            disconnects: counter_vec(
                "roomshard_worker_forced_disconnects_total",
                "Sockets closed by the worker, by reason",
                &[LABEL_REASON],
            )?,
            view_batches: IntCounter::new(
                "roomshard_worker_view_batches_total",
                "View batches emitted (one per observed cell or crossing player per tick)",
            )?,
            view_batch_entities: Histogram::with_opts(
                HistogramOpts::new(
                    "roomshard_worker_view_batch_entities",
                    "Entities (moved + entered + left) in one view batch",
                )
                .buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
                ]),
            )?,
            fanout_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "roomshard_worker_fanout_latency_seconds",
                    "From a move received to the view batch carrying it emitted",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
                ]),
            )?,
            tick_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "roomshard_worker_tick_duration_seconds",
                    "Time to compute and emit one tick of all rooms",
                )
                .buckets(vec![
                    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                ]),
            )?,
            redis_errors: counter_vec(
                "roomshard_worker_redis_errors_total",
                "Redis commands that failed or timed out, by operation",
                &[LABEL_OP],
            )?,
            sync_dropped: IntCounter::new(
                "roomshard_worker_sync_messages_dropped_total",
                "Room-sync and presence messages lost because Redis was unreachable or slow",
            )?,
            view_dropped: IntCounter::new(
                "roomshard_worker_view_dropped_total",
                "View batches a recipient missed because its send queue was full or closed",
            )?,
            heartbeats: IntCounter::new(
                "roomshard_worker_heartbeats_total",
                "Heartbeats written to Redis",
            )?,
            heartbeat_last_success: Gauge::new(
                "roomshard_worker_heartbeat_last_success_timestamp_seconds",
                "Unix time of the last heartbeat Redis accepted",
            )?,
            heartbeat_age: Gauge::new(
                "roomshard_worker_heartbeat_age_seconds",
                "Seconds since the last heartbeat Redis accepted (at scrape time)",
            )?,
            draining: IntGauge::new(
                "roomshard_worker_draining",
                "1 while the worker drains before shutting down",
            )?,
            registry,
        };
        m.registry.register(Box::new(m.connections.clone()))?;
        m.registry.register(Box::new(m.rooms.clone()))?;
        m.registry.register(Box::new(m.players.clone()))?;
        m.registry.register(Box::new(m.events_in.clone()))?;
        m.registry.register(Box::new(m.events_out.clone()))?;
        m.registry.register(Box::new(m.rejected.clone()))?;
        m.registry.register(Box::new(m.joins.clone()))?;
        m.registry.register(Box::new(m.disconnects.clone()))?;
        m.registry.register(Box::new(m.view_batches.clone()))?;
        m.registry
            .register(Box::new(m.view_batch_entities.clone()))?;
        m.registry.register(Box::new(m.fanout_latency.clone()))?;
        m.registry.register(Box::new(m.tick_duration.clone()))?;
        m.registry.register(Box::new(m.redis_errors.clone()))?;
        m.registry.register(Box::new(m.sync_dropped.clone()))?;
        m.registry.register(Box::new(m.view_dropped.clone()))?;
        m.registry.register(Box::new(m.heartbeats.clone()))?;
        m.registry
            .register(Box::new(m.heartbeat_last_success.clone()))?;
        m.registry.register(Box::new(m.heartbeat_age.clone()))?;
        m.registry.register(Box::new(m.draining.clone()))?;
        Ok(m)
    }

    pub fn event_in(&self, event: &str) {
        self.events_in.with_label_values(&[event]).inc();
    }

    pub fn event_out(&self, event: &str) {
        self.events_out.with_label_values(&[event]).inc();
    }

    pub fn redis_error(&self, op: &str) {
        self.redis_errors.with_label_values(&[op]).inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let last = self.heartbeat_last_success.get();
        if last > 0.0 {
            let now = roomshard_protocol::now_ms() as f64 / 1000.0;
            self.heartbeat_age.set((now - last).max(0.0));
        }
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
    fn every_metric_is_prefixed_and_rendered() {
        let m = Metrics::new().expect("registers");
        m.event_in("move");
        m.event_out("view");
        m.redis_error("heartbeat");
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
