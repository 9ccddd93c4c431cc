//! The reconcile loop: one RoomShardSet in, its children, drain and status out.
//!
//! [`reconcile_set`] reads as its pipeline, one call per step: validate → observe →
//! plan the drain → build → apply → status. The pure parts (`validate`, `drain::plan`,
//! `build/*`, `status::compute`) live in their modules; the steps here feed them what
//! was read and write what they decided. A failure names its step and its child.

use crate::applied::{Applied, fingerprint};
use crate::build::children::Children;
use crate::build::spec_defaults::with_defaults;
use crate::build::{self, Inputs, names, selector_string, statefulset};
use crate::crd::{AutoscaleStatus, DrainStatus, FINALIZER, RoomShardSet};
use crate::drain::{self, DrainPlan};
use crate::metrics::Metrics;
use crate::redis_state::{RedisPool, RedisView, SetRedis};
use crate::set_redis::{cleanup, connect_redis};
use crate::validate::{SpecError, ValidSet, validate};
use crate::{Error, Result, apply, autoscale, events, rollout, status};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{info, instrument, warn};

pub use crate::config::Config;

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    pub redis: RedisPool,
    /// What was last applied per set (see [`Applied`]).
    pub applied: Applied,
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
        let redis = RedisPool::new(Duration::from_secs(2)).with_tls(config.redis_tls.clone());
        Self {
            client,
            recorder,
            metrics,
            config,
            redis,
            applied: Applied::default(),
            failures: Mutex::new(HashMap::new()),
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

/// One set, a step per line: validate → observe → plan the drain → build → apply → status,
/// then when to look again.
async fn reconcile_set(
    set: &RoomShardSet,
    api: &Api<RoomShardSet>,
    ctx: &Context,
) -> Result<Action> {
    let set = &*with_defaults(set, &ctx.config.defaults);
    let valid = match validate(set, ctx.config.default_redis_url.as_deref()) {
        Ok(valid) => valid,
        Err(invalid) => return wait_for_a_valid_spec(set, api, &invalid, ctx).await,
    };
    let mut observed = observe(set, &valid, ctx).await?;
    let draining = observed.drain.is_some();
    let (set, autoscale) =
        autoscale::step(set, api, observed.view.as_ref().ok(), draining, ctx).await?;
    let set = &*set;
    let inputs = Inputs {
        set,
        valid: &valid,
        owner: set
            .controller_owner_ref(&())
            .ok_or(Error::MissingObjectKey("metadata.uid"))?,
        defaults: &ctx.config.defaults,
    };
    let plan = plan_drain(set, &valid, &mut observed, ctx).await;
    let children = Children::build(&inputs, plan.replicas);
    let statefulset =
        apply_unless_unchanged(&inputs, &children, observed.statefulset.take(), ctx).await?;
    let rollout = rollout::step(
        set,
        &valid,
        &statefulset,
        observed.redis.as_ref().ok(),
        observed.view.as_ref().ok(),
        plan.drain.is_some(),
        ctx,
    )
    .await?;
    let moving = rollout.moving;
    update_status(
        set,
        api,
        &observed,
        &plan,
        &statefulset,
        (autoscale, rollout),
        ctx,
    )
    .await?;
    Ok(next_look(
        set,
        &plan,
        moving,
        &observed,
        &statefulset,
        &ctx.config,
    ))
}

/// What a reconcile found before changing anything.
struct Observed {
    /// The StatefulSet as the API server holds it (`None` before it exists).
    statefulset: Option<StatefulSet>,
    /// Its replicas.
    replicas: Option<i32>,
    /// The drain the status recorded.
    drain: Option<DrainStatus>,
    /// The set's Redis client, or why there is none.
    redis: Result<SetRedis, String>,
    /// The set's Redis state, or why it could not be read.
    view: Result<RedisView, String>,
}

/// An invalid spec: the conditions say why, and nothing changes until the spec does.
async fn wait_for_a_valid_spec(
    set: &RoomShardSet,
    api: &Api<RoomShardSet>,
    invalid: &SpecError,
    ctx: &Context,
) -> Result<Action> {
    let name = set.name_any();
    let prev = set.status.as_ref();
    let st = status::invalid(
        prev,
        set.meta().generation,
        selector_string(&name, statefulset::COMPONENT),
        &invalid.0,
        &status::now_rfc3339(),
    );
    events::conditions(&ctx.recorder, set, prev, &st).await;
    patch_status(api, name, &st).await?;
    Ok(Action::await_change())
}

/// Observe: the StatefulSet's replicas, and the heartbeats of every shard that exists or
/// will. Redis being away is an observation (the set turns Degraded), not a failure.
async fn observe(set: &RoomShardSet, valid: &ValidSet, ctx: &Context) -> Result<Observed> {
    let sts_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &valid.namespace);
    let sts_name = names::statefulset(&valid.name);
    let current = sts_api
        .get_opt(&sts_name)
        .await
        .map_err(|source| Error::Observe {
            kind: "StatefulSet",
            name: sts_name,
            source,
        })?;
    let replicas = statefulset::current_replicas(current.as_ref());
    let drain = set.status.as_ref().and_then(|s| s.drain.clone());
    let span = [
        replicas.unwrap_or(0),
        set.spec.shards,
        drain.as_ref().map(|d| d.from).unwrap_or(0),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let redis = connect_redis(valid, ctx).await.map_err(|e| e.to_string());
    let view = match &redis {
        Ok(r) => r
            .read_view(&valid.keys, u32::try_from(span).unwrap_or(0))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.clone()),
    };
    if view.is_err() {
        ctx.metrics.redis_errors.inc();
    }
    Ok(Observed {
        statefulset: current,
        replicas,
        drain,
        redis,
        view,
    })
}

/// Plan the drain ([`drain::plan`]) and write its marks to Redis before the StatefulSet
/// changes, so the matchmaker stops placing seats on shards that are going. The view
/// then shows the marks; a failed write turns it into the reason Redis is unavailable.
async fn plan_drain(
    set: &RoomShardSet,
    valid: &ValidSet,
    observed: &mut Observed,
    ctx: &Context,
) -> DrainPlan {
    let plan = drain::plan(
        set.spec.shards,
        observed.replicas,
        observed.drain.as_ref(),
        observed.view.as_ref().ok(),
        set.spec.drain_timeout_seconds(),
        i64::try_from(roomshard_protocol::now_ms()).unwrap_or(i64::MAX),
    );
    if let Ok(r) = &observed.redis {
        let marked = async {
            r.mark_draining(&valid.keys, &plan.mark).await?;
            r.unmark_draining(&valid.keys, &plan.unmark).await
        }
        .await;
        if let Err(e) = marked {
            ctx.metrics.redis_errors.inc();
            observed.view = Err(e.to_string());
        } else if let Ok(v) = &mut observed.view {
            v.draining.extend(plan.mark.iter().copied());
            for i in &plan.unmark {
                v.draining.remove(i);
            }
        }
    }
    plan
}

/// Apply, unless the last pass applied these very children and nothing changed them
/// since (see [`Applied`]): then the StatefulSet observed is the one to report on.
async fn apply_unless_unchanged(
    inputs: &Inputs<'_>,
    children: &Children,
    current: Option<StatefulSet>,
    ctx: &Context,
) -> Result<StatefulSet> {
    let set = ObjectRef::from_obj(inputs.set);
    let fp = fingerprint(children);
    if let Some(sts) = current.filter(|_| ctx.applied.unchanged(&set, fp)) {
        ctx.metrics.applies_skipped.inc();
        return Ok(sts);
    }
    ctx.applied.begin(&set);
    match apply_children(inputs, children, &set, ctx).await {
        Ok(sts) => {
            ctx.applied.finish(&set, fp);
            Ok(sts)
        }
        Err(e) => {
            ctx.applied.forget(&set);
            Err(e)
        }
    }
}

/// Applies one child and records what the API server returned.
async fn apply_one<K>(ctx: &Context, set: &ObjectRef<RoomShardSet>, ns: &str, obj: &K) -> Result<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + k8s_openapi::Resource
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let applied = apply::apply(&ctx.client, ns, obj).await?;
    ctx.applied
        .record(set, <K as k8s_openapi::Resource>::KIND, applied.meta());
    Ok(applied)
}

/// Apply: the token Secret when it is missing, then the children in two waves, each
/// [`apply::CONCURRENT_APPLIES`] at a time: first what the pods read or are reached by
/// (Services, the PDB, the shard-count ConfigMap), then the StatefulSet, the matchmaker
/// and the Ingress. Last, the removal of the Services of shards the set no longer has.
/// Returns the StatefulSet as the API server holds it.
async fn apply_children(
    inputs: &Inputs<'_>,
    children: &Children,
    set: &ObjectRef<RoomShardSet>,
    ctx: &Context,
) -> Result<StatefulSet> {
    let client = &ctx.client;
    let ns = inputs.valid.namespace.as_str();
    if apply::ensure_token_secret(client, inputs).await? {
        events::publish(
            &ctx.recorder,
            inputs.set,
            EventType::Normal,
            "TokenSecretCreated",
            format!("created Secret {}", names::token_secret(&inputs.valid.name)),
        )
        .await;
    }
    if let Some(redis_secret) = &children.redis_secret {
        apply::ensure_secret(client, ns, redis_secret).await?;
    }
    let mut services = vec![
        apply_one(ctx, set, ns, &children.headless_service),
        apply_one(ctx, set, ns, &children.client_service),
    ];
    for svc in &children.shard_services {
        services.push(apply_one(ctx, set, ns, svc));
    }
    let first = futures::stream::iter(services)
        .buffer_unordered(apply::CONCURRENT_APPLIES)
        .try_collect::<Vec<_>>();
    tokio::try_join!(
        first,
        apply_one(ctx, set, ns, &children.worker_pdb),
        apply_one(ctx, set, ns, &children.shard_count),
    )?;
    let ingress = async {
        match &children.ingress {
            Some(ingress) => apply_one(ctx, set, ns, ingress).await.map(|_| ()),
            None => {
                if apply::delete_ingress(client, ns, &inputs.valid.name).await? {
                    info!("removed the Ingress");
                }
                Ok(())
            }
        }
    };
    let (statefulset, ..) = tokio::try_join!(
        apply_one(ctx, set, ns, &children.statefulset),
        apply_one(ctx, set, ns, &children.matchmaker),
        apply_one(ctx, set, ns, &children.matchmaker_service),
        ingress,
    )?;
    // Only a set that has had more shards than it keeps can have Services to remove; a new
    // set (no status yet) has none, and its owner references clear any of an older namesake.
    let had = inputs.set.status.as_ref().map_or(0, |st| {
        u32::try_from(
            st.replicas
                .max(i32::try_from(st.shards.len()).unwrap_or(i32::MAX)),
        )
        .unwrap_or(0)
    });
    if had > children.keep {
        let removed =
            apply::delete_shard_services_from(client, ns, &inputs.valid.name, children.keep)
                .await?;
        if !removed.is_empty() {
            info!(services = ?removed, "removed Services of drained shards");
        }
    }
    Ok(statefulset)
}

/// Status: announce the drain's transition and every changed condition, and write the
/// status when it changed.
async fn update_status(
    set: &RoomShardSet,
    api: &Api<RoomShardSet>,
    observed: &Observed,
    plan: &DrainPlan,
    statefulset: &StatefulSet,
    (autoscale, rollout): (Option<AutoscaleStatus>, rollout::Outcome),
    ctx: &Context,
) -> Result<()> {
    if let Some(t) = &plan.transition {
        events::drain(&ctx.recorder, &ctx.metrics, set, t).await;
    }
    let name = set.name_any();
    let prev = set.status.as_ref();
    let st = status::compute(
        prev,
        &status::Observation {
            name: &name,
            generation: set.meta().generation,
            desired: set.spec.shards,
            statefulset: Some(statefulset),
            redis: observed.view.as_ref().map_err(Clone::clone),
            drain: plan.drain.clone(),
            selector: selector_string(&name, statefulset::COMPONENT),
            now: status::now_rfc3339(),
        },
    );
    let st = status::with_rollout(
        crate::crd::RoomShardSetStatus { autoscale, ..st },
        statefulset,
        rollout.status,
        &rollout.revisions,
    );
    events::conditions(&ctx.recorder, set, prev, &st).await;
    if prev != Some(&st) {
        patch_status(api, name, &st).await?;
    }
    Ok(())
}

async fn patch_status(
    api: &Api<RoomShardSet>,
    name: String,
    st: &crate::crd::RoomShardSetStatus,
) -> Result<()> {
    status::patch(api, &name, st)
        .await
        .map_err(|source| Error::Status { name, source })
}

/// When to look again: soon while a drain runs or Redis is away; at the resync while a
/// shard beats, since its rooms and players feed the status; else only on a change. A set
/// with no live shard and no ready pod has nothing in Redis to follow: the pod that starts
/// beating turns ready first, and the StatefulSet's new status wakes the set up.
fn next_look(
    set: &RoomShardSet,
    plan: &DrainPlan,
    rolling: bool,
    observed: &Observed,
    statefulset: &StatefulSet,
    config: &Config,
) -> Action {
    let autoscaled = set.spec.autoscale.is_some();
    let heartbeat =
        Duration::from_millis(u64::try_from(set.spec.heartbeat_interval_ms()).unwrap_or(2000));
    let ready = statefulset
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    match &observed.view {
        _ if plan.drain.is_some() || rolling => Action::requeue(config.drain_poll),
        Err(_) => Action::requeue(config.drain_poll.max(Duration::from_secs(5))),
        Ok(view) if view.heartbeats.is_empty() && ready == 0 => Action::await_change(),
        // Autoscaling follows every heartbeat.
        Ok(_) if autoscaled => Action::requeue(heartbeat),
        Ok(_) => Action::requeue(config.resync),
    }
}
