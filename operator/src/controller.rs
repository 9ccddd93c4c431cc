//! The reconcile loop: one RoomShardSet in, its children, drain and status out.

use crate::build::{self, Inputs, names, selector_string, statefulset};
use crate::crd::{FINALIZER, RoomShardSet, RoomShardSetStatus};
use crate::drain::{self, DrainTransition};
use crate::metrics::Metrics;
use crate::redis_state::{RedisPool, RedisView, SetRedis};
use crate::validate::{RedisSource, ValidSet, validate};
use crate::{Error, Result, apply, status};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, instrument, warn};

/// Settings of the controller (from the operator's flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis for sets that name none.
    pub default_redis_url: Option<String>,
    /// Namespace to watch; all when `None`.
    pub namespace: Option<String>,
    /// How long the finalizer tries to clean Redis before letting deletion proceed.
    pub cleanup_budget: Duration,
    /// Requeue interval of a settled set (status refresh from heartbeats).
    pub resync: Duration,
    /// Requeue interval while a drain runs.
    pub drain_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_redis_url: None,
            namespace: None,
            cleanup_budget: Duration::from_secs(10),
            resync: Duration::from_secs(30),
            drain_poll: Duration::from_secs(2),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    pub redis: RedisPool,
    failures: Mutex<HashMap<ObjectRef<RoomShardSet>, u32>>,
}

impl Context {
    pub fn new(client: Client, metrics: Arc<Metrics>, config: Config, instance: String) -> Self {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: build::MANAGER.into(),
                instance: Some(instance),
            },
        );
        Self {
            client,
            recorder,
            metrics,
            config,
            redis: RedisPool::new(Duration::from_secs(2)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    async fn event(&self, set: &RoomShardSet, type_: EventType, reason: &str, note: String) {
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &set.object_ref(&())).await {
            warn!(error = %e, reason, "could not record an event");
        }
    }

    fn backoff(&self, obj: &RoomShardSet) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(ObjectRef::from_obj(obj)).or_insert(0);
        *n = n.saturating_add(1);
        // 1 s, 2 s, 4 s, ... up to 5 min.
        Duration::from_secs(1u64 << (*n - 1).min(8)).min(Duration::from_secs(300))
    }

    fn succeeded(&self, obj: &RoomShardSet) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&ObjectRef::from_obj(obj));
    }
}

/// Reconciles one set: validates, applies its children, drains and writes status.
#[instrument(skip(ctx, obj), fields(set = %obj.name_any(), ns = obj.namespace().unwrap_or_default()))]
pub async fn reconcile(obj: Arc<RoomShardSet>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    let ns = obj
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let api: Api<RoomShardSet> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, obj.clone(), |event| async {
        match event {
            Finalizer::Apply(set) => reconcile_set(&set, &api, &ctx).await,
            Finalizer::Cleanup(set) => cleanup(&set, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.observe_reconcile(started.elapsed());
    if result.is_ok() {
        ctx.succeeded(&obj);
    }
    result
}

/// Logs, counts and requeues with a per-object exponential backoff.
pub fn error_policy(obj: Arc<RoomShardSet>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(set = %obj.name_any(), error = %error, "reconcile failed");
    ctx.metrics.failure(error.metric_label());
    Action::requeue(ctx.backoff(&obj))
}

async fn reconcile_set(
    set: &RoomShardSet,
    api: &Api<RoomShardSet>,
    ctx: &Context,
) -> Result<Action> {
    let name = set.name_any();
    let prev = set.status.as_ref();
    let selector = selector_string(&name, statefulset::COMPONENT);
    let valid = match validate(set, ctx.config.default_redis_url.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            let st = status::invalid(
                prev,
                set.meta().generation,
                selector,
                &e.0,
                &status::now_rfc3339(),
            );
            announce(set, prev, &st, ctx).await;
            status::patch(api, &name, &st).await?;
            // Nothing will change until the spec does.
            return Ok(Action::await_change());
        }
    };
    let owner = set
        .controller_owner_ref(&())
        .ok_or(Error::MissingObjectKey("metadata.uid"))?;
    let inputs = Inputs {
        set,
        valid: &valid,
        owner,
    };
    let client = &ctx.client;
    let ns = valid.namespace.as_str();

    if apply::ensure_token_secret(client, &inputs).await? {
        ctx.event(
            set,
            EventType::Normal,
            "TokenSecretCreated",
            format!("created Secret {}", names::token_secret(&name)),
        )
        .await;
    }

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let current = sts_api.get_opt(&names::statefulset(&name)).await?;
    let current_replicas = statefulset::current_replicas(current.as_ref());

    // Redis: read heartbeats of every shard that exists or will.
    let prev_drain = prev.and_then(|s| s.drain.clone());
    let span = [
        current_replicas.unwrap_or(0),
        set.spec.shards,
        prev_drain.as_ref().map(|d| d.from).unwrap_or(0),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let redis = connect_redis(&valid, ctx).await;
    let view: Result<RedisView, String> = match &redis {
        Ok(r) => r
            .read_view(&valid.keys, u32::try_from(span).unwrap_or(0))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if view.is_err() {
        ctx.metrics.redis_errors.inc();
    }

    let plan = drain::plan(
        set.spec.shards,
        current_replicas,
        prev_drain.as_ref(),
        view.as_ref().ok(),
        set.spec.drain_timeout_seconds(),
        i64::try_from(roomshard_protocol::now_ms()).unwrap_or(i64::MAX),
    );
    let mut view = view;
    if let Ok(r) = &redis {
        let marked = async {
            r.mark_draining(&valid.keys, &plan.mark).await?;
            r.unmark_draining(&valid.keys, &plan.unmark).await
        }
        .await;
        if let Err(e) = marked {
            ctx.metrics.redis_errors.inc();
            view = Err(e.to_string());
        } else if let Ok(v) = &mut view {
            v.draining.extend(plan.mark.iter().copied());
            for i in &plan.unmark {
                v.draining.remove(i);
            }
        }
    }

    // Children.
    apply::apply(client, ns, &build::service::headless_service(&inputs)).await?;
    apply::apply(client, ns, &build::service::client_service(&inputs)).await?;
    let keep = u32::try_from(plan.replicas).unwrap_or(0);
    for i in 0..keep {
        apply::apply(client, ns, &build::service::shard_service(&inputs, i)).await?;
    }
    apply::apply(client, ns, &build::pdb::worker_pdb(&inputs)).await?;
    // Before the StatefulSet, so pods it starts read the new total.
    apply::apply(
        client,
        ns,
        &build::shard_count::shard_count_config_map(&inputs, plan.replicas),
    )
    .await?;
    let sts = apply::apply(
        client,
        ns,
        &statefulset::worker_statefulset(&inputs, plan.replicas),
    )
    .await?;
    apply::apply(
        client,
        ns,
        &build::matchmaker::matchmaker_deployment(&inputs),
    )
    .await?;
    apply::apply(client, ns, &build::service::matchmaker_service(&inputs)).await?;
    let removed = apply::delete_shard_services_from(client, ns, &name, keep).await?;
    if !removed.is_empty() {
        info!(services = ?removed, "removed Services of drained shards");
    }

    if let Some(t) = &plan.transition {
        drain_event(set, t, ctx).await;
    }

    let st = status::compute(
        prev,
        &status::Observation {
            name: &name,
            generation: set.meta().generation,
            desired: set.spec.shards,
            statefulset: Some(&sts),
            redis: view.as_ref().map_err(Clone::clone),
            drain: plan.drain.clone(),
            selector,
            now: status::now_rfc3339(),
        },
    );
    announce(set, prev, &st, ctx).await;
    if prev != Some(&st) {
        status::patch(api, &name, &st).await?;
    }
    Ok(if plan.drain.is_some() {
        Action::requeue(ctx.config.drain_poll)
    } else if view.is_err() {
        Action::requeue(ctx.config.drain_poll.max(Duration::from_secs(5)))
    } else {
        Action::requeue(ctx.config.resync)
    })
}

/// The Redis client of a set, reading the URL from its Secret when the spec says so.
async fn connect_redis(valid: &ValidSet, ctx: &Context) -> Result<SetRedis> {
    let url = match &valid.redis {
        RedisSource::Url(url) => url.clone(),
        RedisSource::Secret { name, key } => {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &valid.namespace);
            let secret = api.get_opt(name).await?.ok_or_else(|| Error::RedisSecret {
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

async fn drain_event(set: &RoomShardSet, t: &DrainTransition, ctx: &Context) {
    let (type_, reason, note, outcome) = match *t {
        DrainTransition::Started { from, to } => (
            EventType::Normal,
            "DrainStarted",
            format!(
                "scaling from {from} to {to} shards: shards {to}..{} take no new seats until their players leave",
                from - 1
            ),
            "started",
        ),
        DrainTransition::Completed { from, to } => (
            EventType::Normal,
            "DrainCompleted",
            format!("shards {to}..{} are empty; scaled to {to}", from - 1),
            "completed",
        ),
        DrainTransition::TimedOut { from, to, players } => (
            EventType::Warning,
            "DrainTimedOut",
            format!(
                "drain deadline passed with {players} players on shards {to}..{}; scaled to {to} anyway",
                from - 1
            ),
            "timed_out",
        ),
        DrainTransition::Cancelled { from, to } => (
            EventType::Normal,
            "DrainCancelled",
            format!("scaled back up while draining {from} -> {to}; the shards take seats again"),
            "cancelled",
        ),
    };
    ctx.metrics.drains.with_label_values(&[outcome]).inc();
    info!(reason, %note, "drain");
    ctx.event(set, type_, reason, note).await;
}

/// Records an Event for every condition that changed.
async fn announce(
    set: &RoomShardSet,
    prev: Option<&RoomShardSetStatus>,
    next: &RoomShardSetStatus,
    ctx: &Context,
) {
    for c in status::changed_conditions(prev, next) {
        let bad = (c.type_ == status::DEGRADED && c.status == "True")
            || (c.type_ == status::READY && c.status == "False" && c.reason == "InvalidSpec");
        let boring = c.type_ == status::DEGRADED && c.status == "False" && prev.is_none();
        if boring || (c.type_ == status::PROGRESSING && c.reason == "InvalidSpec") {
            continue;
        }
        let type_ = if bad {
            EventType::Warning
        } else {
            EventType::Normal
        };
        ctx.event(
            set,
            type_,
            &c.reason,
            format!("{}={}: {}", c.type_, c.status, c.message),
        )
        .await;
    }
}

/// Deletes the set's Redis state. Bounded: when Redis stays away past the budget, the
/// deletion proceeds anyway with a Warning Event, since the keys expire or are harmless.
async fn cleanup(set: &RoomShardSet, ctx: &Context) -> Result<Action> {
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
            ctx.event(
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
            ctx.event(
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

/// Runs the controller until `shutdown` resolves.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let client = ctx.client.clone();
    let (sets, sts, svc, deploy, pdb) = match &ctx.config.namespace {
        Some(ns) => (
            Api::<RoomShardSet>::namespaced(client.clone(), ns),
            Api::<StatefulSet>::namespaced(client.clone(), ns),
            Api::<Service>::namespaced(client.clone(), ns),
            Api::<Deployment>::namespaced(client.clone(), ns),
            Api::<PodDisruptionBudget>::namespaced(client.clone(), ns),
        ),
        None => (
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client.clone()),
        ),
    };
    let children =
        watcher::Config::default().labels("app.kubernetes.io/managed-by=roomshard-operator");
    Controller::new(sets, watcher::Config::default().any_semantic())
        .owns(sts, children.clone())
        .owns(svc, children.clone())
        .owns(deploy, children.clone())
        .owns(pdb, children)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(set = %obj.name, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile error"),
            }
        })
        .await;
}
