//! The Redis boundary: every read and write of the matchmaker goes through [`Store`], each
//! under a deadline. Callers see domain values and [`StoreError`], never Redis types, so
//! another store (e.g. in-process, for development) can sit behind the same methods.

mod reserve;
mod rooms;
mod script;
mod view;

pub use reserve::{Granted, NewRoom, Refusal, ReserveRequest, ShardArgs, parse_reserve};
pub use rooms::{RoomRow, parse_rooms};
pub use script::{LuaScript, RESERVE, ROOMS, VIEW};
pub use view::{BadRecord, parse_view};

use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::prelude::{Builder, Config as RedisConfig, ReconnectPolicy};
use fred::types::{Key, Value};
use roomshard_protocol::Keys;
use std::future::Future;
use std::time::Duration;

/// Why a Redis call failed. The detail is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis call {op} exceeded its {deadline:?} deadline")]
    Timeout {
        op: &'static str,
        deadline: Duration,
    },
    #[error("redis call {op} failed: {source}")]
    Redis {
        op: &'static str,
        #[source]
        source: fred::error::Error,
    },
    #[error("redis call {op} returned an unexpected reply: {detail}")]
    Reply { op: &'static str, detail: String },
}

impl StoreError {
    pub fn op(&self) -> &'static str {
        match self {
            StoreError::Timeout { op, .. }
            | StoreError::Redis { op, .. }
            | StoreError::Reply { op, .. } => op,
        }
    }
}

/// Why the configured Redis URL cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("REDIS_URL is invalid: {0}")]
pub struct BadRedisUrl(String);

#[derive(Clone)]
pub struct Store {
    client: Client,
    keys: Keys,
    deadline: Duration,
    prefix: Str,
    draining: Key,
}

impl Store {
    /// Starts connecting in the background; calls fail with a timeout until Redis answers,
    /// so the process starts (and reports not ready) while Redis is away.
    pub fn connect(url: &str, keys: Keys, deadline: Duration) -> Result<Self, BadRedisUrl> {
        let mut config =
            RedisConfig::from_url(url).map_err(|e| BadRedisUrl(e.details().to_string()))?;
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_performance_config(|p| {
                p.default_command_timeout = deadline;
            })
            .with_connection_config(|c| {
                // Nagle's algorithm would hold a small command back until the previous one is
                // acknowledged: milliseconds on a connection that carries several at once.
                c.tcp.nodelay = Some(true);
                c.connection_timeout = deadline.max(Duration::from_millis(250));
                c.internal_command_timeout = deadline.max(Duration::from_millis(250));
                // A command is sent once: replaying a reserve after a reconnect could hold
                // a seat nobody receives.
                c.max_command_attempts = 1;
                // A frozen server keeps the socket open; recycle the connection instead of
                // waiting on it forever.
                c.unresponsive.max_timeout =
                    Some(deadline.saturating_mul(4).max(Duration::from_secs(1)));
                c.unresponsive.interval = Duration::from_millis(200);
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2))
            .build()
            .map_err(|e| BadRedisUrl(e.details().to_string()))?;
        let _connection_task = client.connect();
        Ok(Self {
            client,
            prefix: Str::from(keys.prefix()),
            draining: Key::from(keys.draining()),
            keys,
            deadline,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The deadline of every call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    async fn call<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.deadline, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) if *source.kind() == fred::error::ErrorKind::Timeout => {
                Err(StoreError::Timeout {
                    op,
                    deadline: self.deadline,
                })
            }
            Ok(Err(source)) => Err(StoreError::Redis { op, source }),
            Err(_) => Err(StoreError::Timeout {
                op,
                deadline: self.deadline,
            }),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call("ping", self.client.ping::<String>(None))
            .await
            .map(|_| ())
    }
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse::<T>()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}
