//! Real infrastructure for Roomshard's tests, and the one home of what the tests share.
//!
//! - [`redis::RedisServer`]: a throwaway `redis-server` on a free loopback port, plain or
//!   TLS-only, with or without ACL users.
//! - [`redis_cluster::RedisCluster`]: a throwaway Redis Cluster of three primaries and
//!   three replicas on free loopback ports.
//! - [`redis_stats`]: `INFO commandstats` and `INFO cpu` of a server, and their deltas.
//! - [`tls`]: a certificate authority and certificates made at test time with `openssl`.
//! - [`resp`]: the raw Redis client (RESP commands and replies).
//! - [`control_plane::ControlPlane`]: etcd and kube-apiserver built from their Go modules
//!   (see `hack/install-control-plane.sh`), with a kubeconfig for `kube::Client` and
//!   `kubectl`.
//! - [`local_cluster::LocalCluster`]: a real single-node Kubernetes (`hack/cluster-up.sh`)
//!   with kubelet, kube-proxy, containerd, CoreDNS and an ingress controller.
//! - [`node`]: the Node tooling under `tests/node` (the official Socket.IO client and the
//!   Node peer used by benchmarks).
//! - [`bins`]: the workspace's own binaries, found (or built) the one way.
//! - [`http`]: the HTTP client.
//! - [`metrics`]: the `/metrics` reader: one series' `value`, or the `sum` of a metric.
//! - [`fixtures`]: shard heartbeats as builders, written as a worker writes them.
//! - [`netns`]: a network namespace joined by veth pairs, to partition a process.
//! - [`stub_http::StubServer`]: a stand-in for a game's backend (the worker's hooks).
//! - [`process`]: child processes that are killed when dropped ([`process::Proc`] with its
//!   port and log), and waiting on conditions with deadlines.

pub mod bins;
pub mod control_plane;
pub mod fixtures;
pub mod http;
pub mod local_cluster;
pub mod metrics;
pub mod netns;
pub mod node;
pub mod process;
pub mod redis;
pub mod redis_cluster;
pub mod redis_stats;
pub mod resp;
pub mod stub_http;
pub mod tls;

use std::path::PathBuf;

/// The repository's root folder (this crate lives in `tests/testkit`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A fresh, empty scratch folder for one test's files.
pub fn scratch_dir(label: &str) -> anyhow::Result<PathBuf> {
    let unique = format!(
        "roomshard-{label}-{}-{}",
        std::process::id(),
        process::next_id()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
