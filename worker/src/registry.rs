//! The worker's handle on the set's Redis registry, shared by the heartbeat and the seats:
//! the connection, the key layout, the deadline every call runs under, and the metrics its
//! failures are counted in.

use crate::metrics::Metrics;
use fred::prelude::Client;
use roomshard_protocol::Keys;
use roomshard_runtime::redis::{RedisError, within_counted};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Registry {
    pub client: Client,
    pub keys: Keys,
    pub timeout: Duration,
    pub metrics: Arc<Metrics>,
}

impl Registry {
    /// One Redis call under the deadline; a failure is counted under `op`.
    pub async fn call<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, RedisError> {
        within_counted(self.timeout, &self.metrics.redis_errors, op, call).await
    }
}
