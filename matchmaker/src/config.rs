//! Flags, each with an environment fallback.

use crate::auth::args::{AuthArgs, LimitArgs};
use clap::Parser;
use roomshard_protocol::UrlTemplate;
use std::time::Duration;

/// Roomshard matchmaker: reserves seats in rooms on healthy shards.
#[derive(Debug, Clone, Parser)]
#[command(name = "roomshard-matchmaker", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "0.0.0.0")]
    pub bind: std::net::IpAddr,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Port of /healthz, /readyz, /metrics and the status page, apart from PORT, which
    /// then serves the API and the demo page alone. Unset: everything on PORT.
    #[arg(long, env = "OPS_PORT")]
    pub ops_port: Option<u16>,

    /// Redis URL shared with the workers, e.g. redis://redis:6379,
    /// rediss://user:password@redis:6380, or redis-cluster://redis-0:6379?node=redis-1:6379
    /// for a Redis Cluster (its value is never shown: it may carry a password).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: String,

    /// CA and client certificate for a `rediss://` REDIS_URL.
    #[command(flatten)]
    pub redis_tls: roomshard_runtime::redis::RedisTls,

    /// Name of the RoomShardSet whose shards this matchmaker serves.
    #[arg(long = "set", env = "ROOMSHARD_SET", default_value = roomshard_protocol::DEFAULT_SET)]
    pub set: String,

    /// Namespace of the RoomShardSet, added to the key scope (`roomshard:{NS/SET}:`);
    /// unset or empty: `roomshard:{SET}:`. The operator sets it.
    #[arg(long = "namespace", env = "ROOMSHARD_NAMESPACE")]
    pub namespace: Option<String>,

    /// Lifetime of a reservation, in milliseconds.
    #[arg(long, env = "RESERVATION_TTL_MS", default_value_t = roomshard_protocol::DEFAULT_RESERVATION_TTL_MS,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub reservation_ttl_ms: u64,

    /// HMAC key shared with the workers (at least 16 bytes).
    #[arg(long, env = "ROOMSHARD_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: String,

    /// URL template handed to clients when a shard's heartbeat carries no URL.
    /// `{shard}` is the shard index, `{pod}` its pod name, `{port}` is
    /// WORKER_BASE_PORT + shard index.
    #[arg(long, env = "PUBLIC_URL", default_value = "ws://127.0.0.1:{port}")]
    pub public_url: UrlTemplate,

    /// Port of shard 0 for the `{port}` placeholder of PUBLIC_URL.
    #[arg(long, env = "WORKER_BASE_PORT", default_value_t = 3000)]
    pub worker_base_port: u16,

    /// Seats per new room when the shard's heartbeat does not say.
    #[arg(long, env = "ROOM_CAPACITY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub room_capacity: u32,

    /// Rooms per shard when the shard's heartbeat does not say.
    #[arg(long, env = "ROOMS_PER_SHARD", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rooms_per_shard: u32,

    /// Heartbeat interval of the workers, in milliseconds, used to judge staleness when a
    /// heartbeat does not state its own interval.
    #[arg(long, env = "HEARTBEAT_INTERVAL_MS", default_value_t = roomshard_protocol::DEFAULT_HEARTBEAT_INTERVAL_MS,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub heartbeat_interval_ms: u64,

    /// Deadline of every Redis call, in milliseconds.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub redis_timeout_ms: u64,

    /// How long in-flight requests may take to finish after SIGTERM, in milliseconds.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

impl Config {
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// Whether the matchmaker can only be reached from this host.
    pub fn loopback_only(&self) -> bool {
        self.bind.is_loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::try_parse_from([
            "roomshard-matchmaker",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--token-secret",
            "0123456789abcdef",
        ])
        .expect("parses");
        assert_eq!(c.port, 8080);
        assert_eq!(c.set, "default");
        assert_eq!(c.reservation_ttl_ms, 30_000);
        assert_eq!(c.redis_timeout_ms, 500);
        assert_eq!(c.heartbeat_interval_ms, 2_000);
    }

    #[test]
    fn zero_ttl_is_refused() {
        let r = Config::try_parse_from([
            "roomshard-matchmaker",
            "--redis-url",
            "redis://x",
            "--token-secret",
            "0123456789abcdef",
            "--reservation-ttl-ms",
            "0",
        ]);
        assert!(r.is_err());
    }
}
