//! The operator SIGKILLed in the middle of reconciling several sets, a spec changed while
//! it is down, and a new operator started: it converges with no duplicate children and
//! `status.observedGeneration` catches up with `metadata.generation`.

use anyhow::{Context, Result, bail};
use roomshard_faults::ms;
use roomshard_testkit::bins::command;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const SETS: &[(&str, u32)] = &[
    ("alpha", 2),
    ("beta", 3),
    ("gamma", 1),
    ("delta", 2),
    ("epsilon", 1),
    ("zeta", 3),
    ("eta", 2),
    ("theta", 1),
];

fn operator(cp: &ControlPlane, dir: &Path, label: &str, redis: &str) -> Result<ChildGuard> {
    let mut cmd = command("roomshard-operator")?;
    cmd.envs(cp.env())
        .env("POD_NAME", label)
        .env("REDIS_URL", redis)
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", free_port()?.to_string())
        .env("LEASE_NAMESPACE", "default")
        .env("LEASE_DURATION_SECONDS", "3")
        .env("LEASE_GRACE_SECONDS", "1")
        .env("RESYNC_SECONDS", "30");
    ChildGuard::spawn(label, cmd, &dir.join(format!("{label}.log")))
}

fn apply_set(cp: &ControlPlane, dir: &Path, name: &str, shards: u32) -> Result<()> {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &file,
        format!(
            "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: {name}\n  \
             namespace: default\nspec:\n  shards: {shards}\n  image: registry.example/roomshard:1\n"
        ),
    )?;
    cp.kubectl_ok(&["apply", "-f", file.to_str().context("path")?])?;
    Ok(())
}

fn list(cp: &ControlPlane, kind: &str) -> Result<Vec<serde_json::Value>> {
    let v: serde_json::Value =
        serde_json::from_str(&cp.kubectl_ok(&["get", kind, "-n", "default", "-o", "json"])?)?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

/// Names of the objects of `kind` whose controller is the set with `uid`.
fn owned(items: &[serde_json::Value], uid: &str) -> Vec<String> {
    items
        .iter()
        .filter(|o| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// Why the sets have not converged yet, or `None` when they have.
fn not_converged(cp: &ControlPlane, shards: &[(&str, u32)]) -> Result<Option<String>> {
    let sets = list(cp, "roomshardsets")?;
    let statefulsets = list(cp, "statefulsets")?;
    let services = list(cp, "services")?;
    let deployments = list(cp, "deployments")?;
    for (name, n) in shards {
        let set = sets
            .iter()
            .find(|s| s["metadata"]["name"] == *name)
            .with_context(|| format!("set {name} is gone"))?;
        let uid = set["metadata"]["uid"].as_str().context("uid")?;
        let generation = set["metadata"]["generation"].as_i64();
        let observed = set["status"]["observedGeneration"].as_i64();
        if observed != generation {
            return Ok(Some(format!(
                "{name}: observedGeneration {observed:?}, generation {generation:?}"
            )));
        }
        let sts = owned(&statefulsets, uid);
        if sts != vec![name.to_string()] {
            return Ok(Some(format!("{name}: StatefulSets {sts:?}")));
        }
        let replicas = statefulsets
            .iter()
            .find(|s| s["metadata"]["name"] == *name)
            .and_then(|s| s["spec"]["replicas"].as_u64());
        if replicas != Some(u64::from(*n)) {
            return Ok(Some(format!("{name}: StatefulSet replicas {replicas:?}")));
        }
        let svc: BTreeSet<String> = owned(&services, uid).into_iter().collect();
        let mut expected: BTreeSet<String> = [
            name.to_string(),
            format!("{name}-headless"),
            format!("{name}-matchmaker"),
        ]
        .into_iter()
        .collect();
        expected.extend((0..*n).map(|i| format!("{name}-shard-{i}")));
        if svc != expected {
            return Ok(Some(format!("{name}: Services {svc:?}, want {expected:?}")));
        }
        let deps = owned(&deployments, uid);
        if deps != vec![format!("{name}-matchmaker")] {
            return Ok(Some(format!("{name}: Deployments {deps:?}")));
        }
    }
    Ok(None)
}

#[test]
fn operator_killed_mid_reconcile_converges_without_duplicates() -> Result<()> {
    let cp = ControlPlane::start()?;
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-operator")?;
    cp.install_crd()?;

    let mut first = operator(&cp, &dir, "operator-1", &redis.url())?;
    for (name, n) in SETS {
        apply_set(&cp, &dir, name, *n)?;
    }
    // Kill it as soon as it has written its first child, while other sets are mid-way.
    wait_until(
        "the operator to write a first StatefulSet",
        Duration::from_secs(60),
        || (!list(&cp, "statefulsets").ok()?.is_empty()).then_some(()),
    )?;
    let killed_at = Instant::now();
    first.signal("KILL")?;
    first.wait_exit(Duration::from_secs(5))?;
    let statefulsets_at_kill = list(&cp, "statefulsets")?.len();
    let observed_at_kill = list(&cp, "roomshardsets")?
        .iter()
        .filter(|s| s["status"]["observedGeneration"].is_i64())
        .count();

    // While it is down, one spec changes (a new generation): beta grows.
    let changed: Vec<(&str, u32)> = SETS
        .iter()
        .map(|(name, n)| (*name, if *name == "beta" { 4 } else { *n }))
        .collect();
    apply_set(&cp, &dir, "beta", 4)?;

    let _second = operator(&cp, &dir, "operator-2", &redis.url())?;
    let converged = wait_until(
        "the restarted operator to converge",
        Duration::from_secs(90),
        || match not_converged(&cp, &changed) {
            Ok(None) => Some(Ok(())),
            Ok(Some(_)) => None,
            Err(e) => Some(Err(e)),
        },
    );
    match converged {
        Ok(r) => r?,
        Err(e) => bail!(
            "{e:#}: {:?}\n{}",
            not_converged(&cp, &changed),
            std::fs::read_to_string(dir.join("operator-2.log")).unwrap_or_default()
        ),
    }
    let took = killed_at.elapsed();
    // Still converged a little later: nothing else appears.
    let again = not_converged(&cp, &changed)?;
    assert_eq!(again, None);
    println!(
        "FIGURES operator-restart: {} sets; SIGKILLed with {statefulsets_at_kill} StatefulSets \
         written and {observed_at_kill} statuses observed; beta grown 3 -> 4 shards while \
         down; the restarted operator converged {} ms after the kill: exactly 1 StatefulSet, \
         the 3 + N expected Services and 1 matchmaker Deployment per set, \
         observedGeneration = generation for all",
        SETS.len(),
        ms(took)
    );
    Ok(())
}
