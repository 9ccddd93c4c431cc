//! What the controller watches: every RoomShardSet, and the metadata of the children it
//! owns (all but the shard-count ConfigMap, which it may only write). A child's event asks for a reconcile of its set and, on the way, tells the
//! [`Applied`](crate::applied::Applied) record whether someone other than the operator
//! changed or deleted it.

use crate::applied::Applied;
use crate::controller::{Context, error_policy, reconcile};
use crate::crd::RoomShardSet;
use futures::{Stream, StreamExt};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::controller::{self, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;

/// Reconciles running at once. Each applies up to [`crate::apply::CONCURRENT_APPLIES`]
/// children at a time; the bound keeps the API server's load (and the operator's
/// connections and memory) flat when many sets change together.
pub const CONCURRENT_RECONCILES: u16 = 16;

/// The children of the operator's sets.
const MANAGED: &str = "app.kubernetes.io/managed-by=roomshard-operator";

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The metadata events of one owned kind, each shown to `applied` first.
fn children<K>(
    client: &Client,
    namespace: Option<&str>,
    ctx: Arc<Context>,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + k8s_openapi::Resource
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let seen = move |applied: &Applied, meta: &PartialObjectMeta<K>, deleted: bool| {
        applied.seen(<K as k8s_openapi::Resource>::KIND, &meta.metadata, deleted);
    };
    watcher(
        api::<PartialObjectMeta<K>>(client, namespace),
        watcher::Config::default().labels(MANAGED),
    )
    .default_backoff()
    .filter_map(move |event| {
        let ctx = ctx.clone();
        async move {
            match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    seen(&ctx.applied, &o, false);
                    Some(Ok(o))
                }
                Ok(watcher::Event::Delete(o)) => {
                    seen(&ctx.applied, &o, true);
                    Some(Ok(o))
                }
                Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
                Err(e) => Some(Err(e)),
            }
        }
    })
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let client = ctx.client.clone();
    let ns = ctx.config.namespace.clone();
    let ns = ns.as_deref();
    Controller::new(
        api::<RoomShardSet>(&client, ns),
        watcher::Config::default().any_semantic(),
    )
    .with_config(controller::Config::default().concurrency(CONCURRENT_RECONCILES))
    .owns_stream(children::<StatefulSet>(&client, ns, ctx.clone()))
    .owns_stream(children::<Service>(&client, ns, ctx.clone()))
    .owns_stream(children::<Deployment>(&client, ns, ctx.clone()))
    .owns_stream(children::<PodDisruptionBudget>(&client, ns, ctx.clone()))
    .owns_stream(children::<Ingress>(&client, ns, ctx.clone()))
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
