//! The real `roomshard-operator` binary: the missing-CRD check, leader election between
//! two instances, and a throughput measurement (printed, not asserted).

mod common;

use common::{operator, operator_binary};
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, ListParams};
use roomshard_operator::crd::RoomShardSet;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::metrics::value;
use roomshard_testkit::process::{free_port, rss_kib, wait_until, wait_until_async};
use roomshard_testkit::redis::RedisServer;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether `path` on `port` answers 200.
fn answers_ok(port: u16, path: &str) -> bool {
    roomshard_testkit::http::request(port, "GET", path, None, b"", Duration::from_secs(2))
        .is_ok_and(|a| a.status == 200)
}

/// A series' value from the operator's `/metrics`; None when it cannot be read.
fn metric(port: u16, series: &str) -> Option<f64> {
    value(port, series).ok()
}

/// Writes `yaml` to `path` and `kubectl apply`s it; the instant the apply began.
fn write_and_apply(cp: &ControlPlane, path: &Path, yaml: &str) -> Instant {
    std::fs::write(path, yaml).expect("write");
    let started = Instant::now();
    kubectl(cp, &["apply", "-f", path.to_str().expect("path")]);
    started
}

fn kubectl(cp: &ControlPlane, args: &[&str]) -> String {
    cp.kubectl_ok(args).expect("kubectl succeeds")
}

/// Whether an object is one of the bulk sets (or their StatefulSets).
fn bulk(meta: &kube::api::ObjectMeta) -> bool {
    meta.name.as_deref().is_some_and(|n| n.starts_with("bulk-"))
}

fn set_yaml(name: &str, shards: i32) -> String {
    format!(
        "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  shards: {shards}\n  image: registry.example/roomshard:1\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_crd_leader_election_and_throughput() {
    let cp = ControlPlane::start().expect("control plane");
    let redis = RedisServer::start().expect("redis");
    let dir = roomshard_testkit::scratch_dir("operator-binary").expect("scratch");
    let client = cp.client().await.expect("client");

    // Without the CRD the operator refuses to start, and says why.
    let out = Command::new(operator_binary())
        .envs(cp.env())
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", free_port().expect("port").to_string())
        .output()
        .expect("operator runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CRD") && stderr.contains("not installed"),
        "{stderr}"
    );

    cp.install_crd().expect("the CRD installs");

    // Two instances: exactly one leads, only it reconciles.
    let (pa, pb) = (free_port().expect("port"), free_port().expect("port"));
    let mut a = operator(&cp, &dir, "op-a", pa, &redis.url());
    let mut b = operator(&cp, &dir, "op-b", pb, &redis.url());
    wait_until("both operators ready", Duration::from_secs(30), || {
        [pa, pb]
            .iter()
            .all(|p| answers_ok(*p, "/readyz"))
            .then_some(())
    })
    .expect("both ready");
    let (leader_port, standby_port) =
        wait_until("one operator to lead", Duration::from_secs(30), || {
            match (
                metric(pa, "roomshard_operator_leader")?,
                metric(pb, "roomshard_operator_leader")?,
            ) {
                (1.0, 0.0) => Some((pa, pb)),
                (0.0, 1.0) => Some((pb, pa)),
                _ => None,
            }
        })
        .expect("a leader");
    assert!(answers_ok(standby_port, "/readyz"), "the standby is ready");
    assert!(answers_ok(leader_port, "/healthz"), "the leader is live");
    let file = dir.join("one.yaml");
    std::fs::write(&file, set_yaml("one", 2)).expect("write");
    kubectl(&cp, &["apply", "-f", file.to_str().expect("path")]);
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    wait_until_async("StatefulSet one", Duration::from_secs(30), || async {
        sts.get_opt("one").await.ok().flatten()
    })
    .await
    .expect("leader reconciled");
    // The StatefulSet is written mid-reconcile; the reconcile counts once it has finished.
    wait_until(
        "the leader to count its reconcile",
        Duration::from_secs(30),
        || (metric(leader_port, "roomshard_operator_reconciles_total")? >= 1.0).then_some(()),
    )
    .expect("the leader counted a reconcile");
    assert_eq!(
        metric(standby_port, "roomshard_operator_reconciles_total"),
        Some(0.0),
        "the standby wrote"
    );

    // Kill the leader: the standby takes over within the lease duration (3 s) plus margin.
    let killed_at = Instant::now();
    if leader_port == pa {
        a.kill()
    } else {
        b.kill()
    }
    wait_until("the standby to lead", Duration::from_secs(15), || {
        (metric(standby_port, "roomshard_operator_leader")? == 1.0).then_some(())
    })
    .expect("takeover");
    let takeover = killed_at.elapsed();
    println!("takeover after the leader was killed: {takeover:?}");
    assert!(takeover < Duration::from_secs(10), "{takeover:?}");
    std::fs::write(&file, set_yaml("two", 1)).expect("write");
    kubectl(&cp, &["apply", "-f", file.to_str().expect("path")]);
    wait_until_async("StatefulSet two", Duration::from_secs(30), || async {
        sts.get_opt("two").await.ok().flatten()
    })
    .await
    .expect("new leader reconciles");
    let survivor = if leader_port == pa { &b } else { &a };
    let pid = survivor.pid();

    // Throughput: 100 sets at once vs 100 ConfigMaps, same API server, same run.
    let n = 100;
    let maps: String = (0..n)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: default\ndata:\n  k: v\n---\n"))
        .collect();
    let started = write_and_apply(&cp, &dir.join("maps.yaml"), &maps);
    let configmaps = started.elapsed();

    let before = metric(standby_port, "roomshard_operator_reconciles_total").unwrap_or(0.0);
    let sets: String = (0..n)
        .map(|i| format!("{}---\n", set_yaml(&format!("bulk-{i}"), 2)))
        .collect();
    let started = write_and_apply(&cp, &dir.join("sets.yaml"), &sets);
    let rss_api: Api<RoomShardSet> = Api::namespaced(client.clone(), "default");
    wait_until_async("100 sets reconciled", Duration::from_secs(300), || async {
        let sets = rss_api.list(&ListParams::default()).await.ok()?;
        let done = sets
            .items
            .iter()
            .filter(|s| bulk(&s.metadata))
            .filter(|s| {
                s.status.as_ref().and_then(|st| st.observed_generation) == s.metadata.generation
            })
            .count();
        let stss = sts.list_metadata(&ListParams::default()).await.ok()?;
        let with_sts = stss.items.iter().filter(|s| bulk(&s.metadata)).count();
        (done == n && with_sts == n).then_some(())
    })
    .await
    .expect("all reconciled");
    let operator_time = started.elapsed();
    let after = metric(standby_port, "roomshard_operator_reconciles_total").unwrap_or(0.0);
    println!(
        "100 RoomShardSets reconciled (StatefulSet + status) in {operator_time:?}; 100 ConfigMap applies took {configmaps:?}; ratio {:.1}",
        operator_time.as_secs_f64() / configmaps.as_secs_f64().max(0.001)
    );
    println!(
        "reconciles per set during the bulk apply: {:.2}",
        (after - before) / n as f64
    );
    println!(
        "operator RSS after 100 sets: {} KiB",
        rss_kib(pid).unwrap_or(0)
    );
}
