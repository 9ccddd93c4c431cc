//! Connections to Redis (fred, RESP3) and the deadline every command runs under.

use crate::metrics::Metrics;
use fred::prelude::{Builder, ClientLike, Config as FredConfig, ReconnectPolicy};
use fred::types::RespVersion;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// A Redis command that failed or missed its deadline.
#[derive(Debug, thiserror::Error)]
#[error("redis {op} failed: {detail}")]
pub struct RedisFailure {
    pub op: &'static str,
    pub detail: String,
}

/// Runs one Redis call under `deadline`, counting failures by operation.
pub async fn within<T, E: Display>(
    deadline: Duration,
    metrics: &Metrics,
    op: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, RedisFailure> {
    let result = match tokio::time::timeout(deadline, call).await {
        Ok(Ok(v)) => return Ok(v),
        Ok(Err(e)) => RedisFailure {
            op,
            detail: e.to_string(),
        },
        Err(_) => RedisFailure {
            op,
            detail: format!("no answer within {deadline:?}"),
        },
    };
    metrics.redis_error(op);
    Err(result)
}

fn builder(url: &str, timeout: Duration) -> anyhow::Result<Builder> {
    let mut config = FredConfig::from_url(url)
        .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
    // fred does not read the protocol from the URL; the adapter needs RESP3.
    config.version = RespVersion::RESP3;
    let mut builder = Builder::from_config(config);
    builder
        .with_performance_config(|p| {
            p.default_command_timeout = timeout;
            p.broadcast_channel_capacity = 8192;
        })
        .with_connection_config(|c| {
            // Nagle's algorithm would hold a small command back until the previous one is
            // acknowledged: milliseconds on a connection that carries several at once.
            c.tcp.nodelay = Some(true);
            c.connection_timeout = timeout.max(Duration::from_millis(500));
            c.internal_command_timeout = timeout.max(Duration::from_millis(500));
            c.max_command_attempts = 2;
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 50, 2_000, 2));
    Ok(builder)
}

/// Connects a command client, retrying until `startup` passes.
pub async fn connect_client(
    url: &str,
    timeout: Duration,
    startup: Duration,
) -> anyhow::Result<fred::clients::Client> {
    let client = builder(url, timeout)?.build()?;
    init_with_deadline(&client, startup).await?;
    Ok(client)
}

/// Builds a subscriber client (not yet connected: its user initialises it).
pub fn subscriber(url: &str, timeout: Duration) -> anyhow::Result<fred::clients::SubscriberClient> {
    Ok(builder(url, timeout)?.build_subscriber_client()?)
}

/// Connects `client`, retrying until `startup` passes.
pub async fn init_with_deadline<C: ClientLike>(
    client: &C,
    startup: Duration,
) -> anyhow::Result<()> {
    let start = tokio::time::Instant::now();
    loop {
        let left = startup.saturating_sub(start.elapsed());
        match tokio::time::timeout(left.max(Duration::from_millis(100)), client.init()).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) if start.elapsed() < startup => {
                tracing::warn!(error = %e, "redis not reachable yet; retrying");
                let _ = client.quit().await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(Err(e)) => anyhow::bail!("redis not reachable within {startup:?}: {e}"),
            Err(_) => anyhow::bail!("redis not reachable within {startup:?}"),
        }
    }
}
