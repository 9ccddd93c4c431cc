//! The steps of the user's path on a local cluster (`tests/user_path.rs`): images into the
//! node, the chart, the example set, the set's Redis as the workers see it, and reading
//! the set's state through the ingress the way a client outside the cluster does.

pub mod autoscale;

use anyhow::{Context, Result, bail};
use roomshard_testkit::local_cluster::LocalCluster;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub const RELEASE: &str = "rs";
pub const SYSTEM_NAMESPACE: &str = "roomshard-system";
pub const NAMESPACE: &str = "game";
pub const SET: &str = "arena";
pub const IMAGE_REPOSITORY: &str = "roomshard.local/roomshard";
pub const IMAGE_TAG: &str = "dev";

/// Builds Roomshard's image (from the release binaries hack/test.sh built) and the
/// development Redis image with `hack/image.sh`, and imports them into the node.
pub fn load_images(cluster: &LocalCluster) -> Result<()> {
    let target = roomshard_testkit::bins::target_dir()?;
    let release = target.join("release/roomshard-worker");
    if !release.exists() {
        bail!(
            "{} is missing: the image is built from the release binaries (`cargo build --release -p roomshard-worker ...`, as hack/test.sh does)",
            release.display()
        );
    }
    let out = Command::new(roomshard_testkit::repo_root().join("hack/image.sh"))
        .args(["roomshard", "redis"])
        .env("SKIP_BUILD", "1")
        .env("CARGO_TARGET_DIR", &target)
        .env("IMAGE", format!("{IMAGE_REPOSITORY}:{IMAGE_TAG}"))
        .output()
        .context("running hack/image.sh")?;
    if !out.status.success() {
        bail!("hack/image.sh: {}", String::from_utf8_lossy(&out.stderr));
    }
    let archives: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    cluster.import_images(&archives)
}

/// `helm install` of the chart with its development Redis, the images built here.
pub fn install_chart(cluster: &LocalCluster) -> Result<()> {
    let chart = roomshard_testkit::repo_root().join("charts/roomshard");
    let chart = chart.to_string_lossy();
    cluster.helm(&[
        "install",
        RELEASE,
        &chart,
        "--namespace",
        SYSTEM_NAMESPACE,
        "--create-namespace",
        "--set",
        &format!("image.repository={IMAGE_REPOSITORY}"),
        "--set",
        &format!("image.tag={IMAGE_TAG}"),
        "--set",
        "redis.enabled=true",
        "--set",
        "redis.image.repository=roomshard.local/redis",
        "--wait",
        "--timeout",
        "3m",
    ])?;
    Ok(())
}

/// `examples/roomshardset.yaml` with what a local user changes: the image.
pub fn example_set() -> Result<String> {
    let text =
        std::fs::read_to_string(roomshard_testkit::repo_root().join("examples/roomshardset.yaml"))?;
    let image_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("image: "))
        .context("the example names no image")?;
    Ok(text.replacen(
        image_line,
        &format!("  image: {IMAGE_REPOSITORY}:{IMAGE_TAG}"),
        1,
    ))
}

/// The example's `spec.drain.timeoutSeconds`.
pub fn example_drain_seconds() -> Result<u64> {
    let text = example_set()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("timeoutSeconds: "))
        .and_then(|v| v.trim().parse().ok())
        .context("the example names no drain.timeoutSeconds")
}

/// `kubectl apply -f -` of `manifest` in the game namespace.
pub fn apply(cluster: &LocalCluster, manifest: &str) -> Result<()> {
    let mut child = cluster
        .tool("kubectl")
        .args(["apply", "-n", NAMESPACE, "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(manifest.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("kubectl apply: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A field of a JSON object by a dotted path (`status.readyReplicas`).
pub fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

/// The number at `path` of `kubectl get KIND NAME -n game`, 0 when absent.
pub fn number(cluster: &LocalCluster, kind: &str, name: &str, path: &str) -> i64 {
    cluster
        .get_json(&[kind, name, "-n", NAMESPACE])
        .map(|v| field(&v, path).as_i64().unwrap_or(0))
        .unwrap_or(0)
}

/// Whether `kubectl get KIND NAME -n NAMESPACE` finds it.
pub fn exists(cluster: &LocalCluster, namespace: &str, kind: &str, name: &str) -> bool {
    cluster
        .kubectl(&[
            "get",
            kind,
            name,
            "-n",
            namespace,
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .is_ok_and(|out| !out.trim().is_empty())
}

/// `redis-cli ARGS...` in the chart's development Redis.
pub fn redis_cli(cluster: &LocalCluster, args: &[&str]) -> Result<String> {
    let mut all = vec![
        "exec",
        "-n",
        SYSTEM_NAMESPACE,
        "deploy/rs-roomshard-redis",
        "--",
        "redis-cli",
    ];
    all.extend_from_slice(args);
    cluster.kubectl(&all)
}

/// `GET path` through the ingress, as a client outside the cluster asks.
pub fn get(cluster: &LocalCluster, path: &str) -> Result<roomshard_testkit::http::Answer> {
    let base = cluster.ingress_url()?;
    let addr = base
        .strip_prefix("http://")
        .context("the ingress URL is not http://")?
        .parse()
        .context("the ingress URL is not host:port")?;
    roomshard_testkit::http::request_to(addr, "GET", path, None, b"", Duration::from_secs(5))
}

/// `GET /rooms` through the ingress.
pub fn rooms(cluster: &LocalCluster) -> Result<Value> {
    get(cluster, "/rooms")?.json()
}

/// The entry of shard `index` in a `GET /rooms` answer.
pub fn shard_entry(rooms: &Value, index: u64) -> Option<&Value> {
    rooms["shards"]
        .as_array()?
        .iter()
        .find(|s| s["shard"].as_u64() == Some(index))
}

/// The container id of pod NAME's first container (containerd's id, without its scheme).
pub fn container_id(cluster: &LocalCluster, pod: &str) -> Result<String> {
    let v = cluster.get_json(&["pod", pod, "-n", NAMESPACE])?;
    let id = field(&v, "status")["containerStatuses"][0]["containerID"]
        .as_str()
        .context("the pod has no running container")?;
    Ok(id.trim_start_matches("containerd://").to_owned())
}

/// Milliseconds since `t`.
pub fn ms_since(t: Instant) -> u128 {
    t.elapsed().as_millis()
}
