//! A benchmark, not a test: the operator against a real control plane (kube-apiserver and
//! etcd, no kubelet) with 100 RoomShardSets of 10 shards each, applied at once.
//!
//! Run with `cargo bench -p roomshard-operator --bench hundred_sets` (`bench/run.sh
//! operator`). It prints:
//!
//! - the time from the apply until every set is converged: its status observed the
//!   current generation, and its StatefulSet asks for 10 replicas (with no controller
//!   manager, no StatefulSet reports replicas of its own);
//! - reconciles per set until then, and until the reconciles stop;
//! - reconciles per minute once idle (nothing changes, no shard beats);
//! - the operator's resident memory, now and at its peak (VmHWM).
//!
//! The goals: converged in under 10 s, at most 30 MB, no idle reconcile. Knobs:
//! `OPERATOR_BENCH_SETS` (100), `OPERATOR_BENCH_SHARDS` (10), `OPERATOR_BENCH_IDLE_SECS`
//! (60).

#[path = "../tests/common/mod.rs"]
mod common;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, ListParams};
use roomshard_operator::crd::RoomShardSet;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::metrics::value;
use roomshard_testkit::process::{free_port, wait_until, wait_until_async};
use roomshard_testkit::redis::RedisServer;
use std::time::{Duration, Instant};

const RECONCILES: &str = "roomshard_operator_reconciles_total";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name}"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn reconciles(port: u16) -> f64 {
    value(port, RECONCILES).unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let sets: usize = env_or("OPERATOR_BENCH_SETS", 100);
    let shards: i32 = env_or("OPERATOR_BENCH_SHARDS", 10);
    let idle_secs: u64 = env_or("OPERATOR_BENCH_IDLE_SECS", 60);
    let cp = ControlPlane::start()?;
    cp.install_crd()?;
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("operator-bench")?;
    let client = cp.client().await?;
    let port = free_port()?;
    let op = common::operator(&cp, &dir, "op", port, &redis.url());
    wait_until("the operator to lead", Duration::from_secs(30), || {
        (value(port, "roomshard_operator_leader").ok()? == 1.0).then_some(())
    })?;
    let (rss_before, _) = memory_kib(op.pid())?;

    let manifest: String = (0..sets)
        .map(|i| {
            format!(
                "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: bench-{i}\n  namespace: default\nspec:\n  shards: {shards}\n  image: registry.example/roomshard:1\n---\n"
            )
        })
        .collect();
    let file = dir.join("sets.yaml");
    std::fs::write(&file, manifest)?;
    let before = reconciles(port);
    let started = Instant::now();
    cp.kubectl_ok(&["apply", "-f", &file.to_string_lossy()])?;
    let applied = started.elapsed();
    let set_api: Api<RoomShardSet> = Api::namespaced(client.clone(), "default");
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    wait_until_async("every set converged", Duration::from_secs(300), || async {
        let listed = set_api.list(&ListParams::default()).await.ok()?;
        let converged = listed
            .items
            .iter()
            .filter(|s| {
                s.status
                    .as_ref()
                    .is_some_and(|st| st.observed_generation == s.metadata.generation)
            })
            .count();
        let statefulsets = sts_api.list(&ListParams::default()).await.ok()?;
        let sized = statefulsets
            .items
            .iter()
            .filter(|s| s.spec.as_ref().and_then(|sp| sp.replicas) == Some(shards))
            .count();
        (converged == sets && sized == sets).then_some(())
    })
    .await?;
    let converged = started.elapsed();
    let at_convergence = reconciles(port) - before;

    // Settled: no reconcile for 5 s in a row.
    let mut last = (reconciles(port), Instant::now());
    wait_until("the reconciles to stop", Duration::from_secs(120), || {
        let now = reconciles(port);
        if now != last.0 {
            last = (now, Instant::now());
        }
        (last.1.elapsed() >= Duration::from_secs(5)).then_some(())
    })?;
    let settled = reconciles(port) - before;
    let settled_after = last.1.duration_since(started);

    // Idle: nothing changes.
    let idle_from = reconciles(port);
    let idle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let idle = reconciles(port) - idle_from;
    let per_minute = idle * 60.0 / idle_started.elapsed().as_secs_f64();
    let (rss, peak) = memory_kib(op.pid())?;

    println!(
        "{sets} RoomShardSets of {shards} shards: kubectl apply took {} ms; every set converged {} ms after the apply began",
        applied.as_millis(),
        converged.as_millis()
    );
    println!(
        "reconciles per set: {:.2} at convergence, {:.2} once they stopped ({} ms after the apply)",
        at_convergence / sets as f64,
        settled / sets as f64,
        settled_after.as_millis()
    );
    println!("idle reconciles: {per_minute:.1} per minute over {idle_secs} s ({idle} in all)");
    println!(
        "operator memory: RSS {rss} KiB now ({rss_before} KiB before the sets), peak {peak} KiB"
    );
    Ok(())
}
