//! What the operator's tests against a bare API server share: kubectl, manifests, the
//! heartbeats a test writes in place of workers, and waits on the set and its StatefulSet.
#![allow(dead_code)]

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use roomshard_operator::crd::RoomShardSet;
use roomshard_protocol::Keys;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::fixtures::{HeartbeatBuilder, write_heartbeat};
use roomshard_testkit::process::wait_until_async;
use roomshard_testkit::redis::RedisServer;
use std::path::Path;
use std::time::Duration;

pub const NS: &str = "default";
pub const WAIT: Duration = Duration::from_secs(30);

pub fn kubectl(cp: &ControlPlane, args: &[&str]) -> (bool, String) {
    let out = cp.kubectl().args(args).output().expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn apply_yaml(cp: &ControlPlane, dir: &Path, name: &str, yaml: &str) -> (bool, String) {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, yaml).expect("write manifest");
    kubectl(cp, &["apply", "-f", file.to_str().expect("utf-8 path")])
}

pub fn set_yaml(name: &str, shards: i32, extra: &str) -> String {
    format!(
        "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: {name}\n  namespace: {NS}\nspec:\n  shards: {shards}\n  image: registry.example/roomshard:1\n{extra}"
    )
}

/// How long a heartbeat written by the test stays.
pub const BEAT_TTL: Duration = Duration::from_secs(600);

pub fn shard(index: u32, total: u32, players: u32) -> HeartbeatBuilder {
    HeartbeatBuilder::new(index, total)
        .rooms(1)
        .players(players)
}

pub fn beat(redis: &RedisServer, keys: &Keys, index: u32, total: u32, players: u32) {
    let hb = shard(index, total, players).build();
    write_heartbeat(redis.port(), keys, &hb, BEAT_TTL).expect("heartbeat written");
}

/// A heartbeat from a worker that has seen its shard's draining mark.
pub fn beat_draining(redis: &RedisServer, keys: &Keys, index: u32, total: u32, players: u32) {
    let hb = shard(index, total, players).draining().build();
    write_heartbeat(redis.port(), keys, &hb, BEAT_TTL).expect("heartbeat written");
}

pub async fn sts_replicas(client: &Client, name: &str) -> Option<i32> {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    api.get_opt(name).await.ok().flatten()?.spec?.replicas
}

pub async fn get_set(client: &Client, name: &str) -> Option<RoomShardSet> {
    let api: Api<RoomShardSet> = Api::namespaced(client.clone(), NS);
    api.get_opt(name).await.ok().flatten()
}

pub async fn wait_replicas(client: &Client, name: &str, want: i32) {
    wait_until_async(
        &format!("StatefulSet {name} to have {want} replicas"),
        WAIT,
        || async { (sts_replicas(client, name).await == Some(want)).then_some(()) },
    )
    .await
    .expect("replicas");
}

/// Marks the StatefulSet's pods as running and ready (no controller-manager does it here).
pub async fn fake_ready(client: &Client, name: &str, n: i32) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let sts = api.get(name).await.expect("sts");
    let status = serde_json::json!({"status": {"replicas": n, "readyReplicas": n,
        "updatedReplicas": n, "availableReplicas": n, "currentReplicas": n,
        "observedGeneration": sts.metadata.generation}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch sts status");
}

pub fn condition<'a>(
    set: &'a RoomShardSet,
    t: &str,
) -> Option<&'a roomshard_operator::crd::Condition> {
    set.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == t)
}

/// The operator, in-process against `client`, with short intervals; it stops when the
/// returned sender sends `true` (or is dropped).
pub fn start_operator(
    client: &Client,
    redis: &RedisServer,
    config: roomshard_operator::controller::Config,
) -> (
    std::sync::Arc<roomshard_operator::metrics::Metrics>,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let metrics =
        std::sync::Arc::new(roomshard_operator::metrics::Metrics::new().expect("metrics"));
    let config = roomshard_operator::controller::Config {
        default_redis_url: Some(redis.url()),
        ..config
    };
    let ctx = std::sync::Arc::new(roomshard_operator::controller::Context::new(
        client.clone(),
        metrics.clone(),
        config,
        "test".into(),
    ));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(roomshard_operator::watches::run(ctx, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    (metrics, stop_tx, task)
}
