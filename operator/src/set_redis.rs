//! The Redis of a set: the client for its URL (from the spec or its Secret), and the
//! deletion of its state when the set goes.

use crate::controller::Context;
use crate::crd::RoomShardSet;
use crate::redis_state::SetRedis;
use crate::validate::{RedisSource, ValidSet, validate};
use crate::{Error, Result, events};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use tracing::{info, warn};

/// The Redis client of a set, reading the URL from its Secret when the spec says so.
pub async fn connect_redis(valid: &ValidSet, ctx: &Context) -> Result<SetRedis> {
    let url = match &valid.redis {
        RedisSource::Url(url) => url.clone(),
        RedisSource::Secret { name, key } => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &valid.namespace);
            let secret = api
                .get_opt(name)
                .await
                .map_err(|source| Error::Observe {
                    kind: "Secret",
                    name: name.clone(),
                    source,
                })?
                .ok_or_else(|| Error::RedisSecret {
                    name: name.clone(),
                    key: key.clone(),
                    detail: "the Secret does not exist".into(),
                })?;
            let bytes = secret
                .data
                .and_then(|d| d.get(key).cloned())
                .ok_or_else(|| Error::RedisSecret {
                    name: name.clone(),
                    key: key.clone(),
                    detail: "the Secret has no such key".into(),
                })?;
            String::from_utf8(bytes.0).map_err(|_| Error::RedisSecret {
                name: name.clone(),
                key: key.clone(),
                detail: "the value is not UTF-8".into(),
            })?
        }
    };
    ctx.redis.client(url.trim()).await.map_err(Error::Redis)
}

/// Deletes the set's Redis state. Bounded: when Redis stays away past the budget, the
/// deletion proceeds anyway with a Warning Event, since the keys expire or are harmless.
pub async fn cleanup(set: &RoomShardSet, ctx: &Context) -> Result<Action> {
    let Ok(valid) = validate(set, ctx.config.default_redis_url.as_deref()) else {
        info!("set was never valid; no Redis state to delete");
        return Ok(Action::await_change());
    };
    let budget = ctx.config.cleanup_budget;
    let outcome = tokio::time::timeout(budget, async {
        let redis = connect_redis(&valid, ctx).await?;
        redis
            .delete_set_state(&valid.keys, budget)
            .await
            .map_err(Error::Redis)
    })
    .await;
    match outcome {
        Ok(Ok(n)) => {
            info!(keys = n, "deleted the set's Redis state");
        }
        Ok(Err(e)) => {
            ctx.metrics.redis_errors.inc();
            warn!(error = %e, "could not delete the set's Redis state; deletion proceeds");
            events::publish(
                &ctx.recorder,
                set,
                EventType::Warning,
                "RedisCleanupSkipped",
                format!("Redis state of the set was not deleted: {e}"),
            )
            .await;
        }
        Err(_) => {
            ctx.metrics.redis_errors.inc();
            warn!(?budget, "Redis clean-up ran out of time; deletion proceeds");
            events::publish(
                &ctx.recorder,
                set,
                EventType::Warning,
                "RedisCleanupSkipped",
                format!("Redis did not finish within {budget:?}; the set's keys were left"),
            )
            .await;
        }
    }
    Ok(Action::await_change())
}
