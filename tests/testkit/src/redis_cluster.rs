//! A throwaway Redis Cluster: three primaries and three replicas of Debian's
//! `redis-server` on free loopback ports, joined with `redis-cli --cluster create`, each
//! node in a folder of its own. Dropping it kills every node and removes the folders,
//! whether the test passed or not.

use crate::process::{ChildGuard, find_program, free_port, wait_until};
use crate::resp::Reply;
use anyhow::{Context, Result, anyhow, bail};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Nodes of the cluster: three primaries, each with one replica.
const NODES: usize = 6;

struct Node {
    port: u16,
    bus: u16,
    dir: PathBuf,
    child: ChildGuard,
}

/// How often a node that still misses some of the others is introduced to them again.
const MEET_AGAIN: Duration = Duration::from_secs(2);

impl Node {
    /// Ok once the node says the cluster is ok, knows all six nodes and, as a replica, is
    /// in sync with its primary; else what it says instead, with its log's last lines.
    fn ready(&self) -> Result<(), String> {
        let text = |args: &[&str]| {
            crate::resp::query(self.port, args)
                .ok()
                .and_then(|r| r.as_text().map(str::to_owned))
                .unwrap_or_default()
        };
        let info = text(&["CLUSTER", "INFO"]);
        let replication = text(&["INFO", "replication"]);
        let pick = |text: &str, field: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| "?".to_owned())
        };
        let state = pick(&info, "cluster_state:");
        let known = pick(&info, "cluster_known_nodes:");
        let role = pick(&replication, "role:");
        let link = pick(&replication, "master_link_status:");
        if state == "ok" && known == NODES.to_string() && (role == "master" || link == "up") {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
        Err(format!(
            "node {}: state {state}, knows {known}, role {role}, link {link}; log: {tail}",
            self.port
        ))
    }
}

/// A running cluster, torn down when dropped.
pub struct RedisCluster {
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts six nodes, joins them into a cluster of three primaries with a replica each,
    /// and waits until every node says the cluster is ok and knows all six.
    pub fn start() -> Result<Self> {
        let server = find_program("redis-server").ok_or_else(|| {
            anyhow!("redis-server is not installed: run hack/install-deps.sh (apt-get install redis-server)")
        })?;
        let cli = find_program("redis-cli")
            .ok_or_else(|| anyhow!("redis-cli is not installed: run hack/install-deps.sh"))?;
        let mut cluster = Self { nodes: Vec::new() };
        for n in 0..NODES {
            let dir = crate::scratch_dir(&format!("redis-cluster-{n}"))?;
            let port = free_port()?;
            // The bus port is chosen too: by default it is the port + 10,000, which may be
            // taken, and past 65,535 for a client port above 55,535 (the node then exits).
            let bus = free_port()?;
            let mut cmd = Command::new(&server);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-port", &bus.to_string()])
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(dir.join("nodes.conf"))
                .args(["--cluster-node-timeout", "5000"])
                // A replica's first sync starts at once rather than 5 s later: a replica
                // that never synced cannot take over from a primary that dies.
                .args(["--repl-diskless-sync-delay", "0"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir);
            // Pushed before it can fail, so a failure further on still cleans this node up.
            let child = ChildGuard::spawn("redis-server", cmd, &dir.join("redis.log"));
            let child = match child {
                Ok(c) => c,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            };
            cluster.nodes.push(Node {
                port,
                bus,
                dir,
                child,
            });
        }
        for node in &cluster.nodes {
            wait_until(
                "a cluster node to answer PING",
                Duration::from_secs(10),
                || {
                    crate::resp::query(node.port, &["PING"])
                        .ok()
                        .filter(|r| r.as_text() == Some("PONG"))
                },
            )?;
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .context("running redis-cli --cluster create")?;
        if !created.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&created.stdout),
                String::from_utf8_lossy(&created.stderr)
            );
        }
        cluster.wait_ok(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Waits until every node is ready. A node whose handshake with another was lost (it
    /// knows five nodes, and gossip can take long to mend it) meets the ones it misses
    /// again, as `redis-cli --cluster create` first did.
    fn wait_ok(&self, deadline: Duration) -> Result<()> {
        let mut met = std::time::Instant::now();
        wait_until(
            "every cluster node to report state ok with six nodes, and every replica in sync",
            deadline,
            || {
                if met.elapsed() >= MEET_AGAIN {
                    met = std::time::Instant::now();
                    self.meet_missing();
                }
                self.nodes.iter().all(|n| n.ready().is_ok()).then_some(())
            },
        )
        .map_err(|e| {
            let nodes: Vec<String> = self.nodes.iter().filter_map(|n| n.ready().err()).collect();
            anyhow!("{e}; not ready: {}", nodes.join("; "))
        })
    }

    /// Each node meets every other node its `CLUSTER NODES` does not list.
    fn meet_missing(&self) {
        for node in &self.nodes {
            let Some(known) = crate::resp::query(node.port, &["CLUSTER", "NODES"])
                .ok()
                .and_then(|r| r.as_text().map(str::to_owned))
            else {
                continue;
            };
            for other in self.nodes.iter().filter(|o| o.port != node.port) {
                if !known.contains(&format!("127.0.0.1:{}@", other.port)) {
                    let (port, bus) = (other.port.to_string(), other.bus.to_string());
                    let _ = crate::resp::query(
                        node.port,
                        &["CLUSTER", "MEET", "127.0.0.1", &port, &bus],
                    );
                }
            }
        }
    }

    /// `redis-cluster://127.0.0.1:P1?node=127.0.0.1:P2&…`: every node as a seed, in the
    /// form `REDIS_URL` takes for a cluster.
    pub fn url(&self) -> String {
        let mut nodes = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port));
        let first = nodes.next().unwrap_or_default();
        let rest: Vec<String> = nodes.map(|n| format!("node={n}")).collect();
        format!("redis-cluster://{first}?{}", rest.join("&"))
    }

    /// The port of one node; a command sent there is redirected to the node that holds its
    /// key by [`crate::resp::query`].
    pub fn port(&self) -> u16 {
        self.nodes.first().map_or(0, |n| n.port)
    }

    /// One command, sent to any node and following its redirections.
    pub fn query(&self, args: &[&str]) -> Result<Reply> {
        crate::resp::query(self.port(), args)
    }

    /// The ports of the nodes that are primaries now.
    pub fn primaries(&self) -> Result<Vec<u16>> {
        let mut ports = Vec::new();
        for port in self.live_nodes() {
            let role = crate::resp::query(port, &["ROLE"])?;
            if matches!(&role, Reply::Array(r) if r.first().and_then(Reply::as_text) == Some("master"))
            {
                ports.push(port);
            }
        }
        Ok(ports)
    }

    /// The port of the primary that owns `slot` now, as the first live node that answers
    /// sees it.
    pub fn owner_of_slot(&self, slot: u16) -> Result<u16> {
        for node in self.live_nodes() {
            let Ok(reply) = crate::resp::query(node, &["CLUSTER", "SLOTS"]) else {
                continue;
            };
            let Reply::Array(ranges) = reply else {
                continue;
            };
            for range in ranges {
                let Reply::Array(r) = range else { continue };
                let bound = |i: usize| r.get(i).and_then(Reply::as_int).unwrap_or(-1);
                let (lo, hi) = (bound(0), bound(1));
                if (lo..=hi).contains(&i64::from(slot))
                    && let Some(Reply::Array(primary)) = r.get(2)
                {
                    return primary
                        .get(1)
                        .and_then(Reply::as_int)
                        .and_then(|p| u16::try_from(p).ok())
                        .context("CLUSTER SLOTS: port");
                }
            }
        }
        bail!("no node names the owner of slot {slot}")
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> Result<String> {
        let reply = crate::resp::query(port, &["CLUSTER", "MYID"])?;
        reply.as_text().map(str::to_owned).context("CLUSTER MYID")
    }

    /// Kills the node on `port` (SIGKILL); it stays down.
    pub fn kill_node(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port == port) {
            node.child.kill();
        }
    }

    /// The ports of the nodes that have not been killed.
    fn live_nodes(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.pid() != 0)
            .map(|n| n.port)
            .collect()
    }

    /// Waits until every live node reports the cluster ok, with `primaries` primaries.
    pub fn wait_healthy(&self, primaries: usize, deadline: Duration) -> Result<()> {
        wait_until("the cluster to be ok again", deadline, || {
            let ok = self.live_nodes().iter().all(|&port| {
                let info = crate::resp::query(port, &["CLUSTER", "INFO"]).ok();
                let text = info.as_ref().and_then(Reply::as_text).unwrap_or("");
                text.contains("cluster_state:ok")
            });
            (ok && self.primaries().ok()?.len() == primaries).then_some(())
        })
        .map(|_| ())
        .map_err(|e| {
            let nodes = self
                .live_nodes()
                .first()
                .and_then(|&p| crate::resp::query(p, &["CLUSTER", "NODES"]).ok())
                .and_then(|r| r.as_text().map(str::to_owned))
                .unwrap_or_default();
            anyhow!("{e}; CLUSTER NODES:\n{nodes}")
        })
    }

    /// Moves `slots` slots from the primary on `from` to the primary on `to` with
    /// `redis-cli --cluster reshard`, keys and all (the lowest slots of `from` first).
    pub fn reshard(&self, from: u16, to: u16, slots: u32) -> Result<()> {
        let cli = find_program("redis-cli").ok_or_else(|| anyhow!("redis-cli is not installed"))?;
        let out = Command::new(&cli)
            .args(["--cluster", "reshard", &format!("127.0.0.1:{from}")])
            .args(["--cluster-from", &self.node_id(from)?])
            .args(["--cluster-to", &self.node_id(to)?])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .output()
            .context("running redis-cli --cluster reshard")?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster reshard failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// How many keys each primary holds: where a test's keys went.
    pub fn keys_per_primary(&self) -> Result<Vec<i64>> {
        self.primaries()?
            .into_iter()
            .map(|port| {
                crate::resp::query(port, &["DBSIZE"])?
                    .as_int()
                    .context("DBSIZE")
            })
            .collect()
    }

    /// Every key of the cluster (`KEYS *` on each primary).
    pub fn all_keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        for port in self.primaries()? {
            keys.extend(crate::resp::query(port, &["KEYS", "*"])?.texts());
        }
        Ok(keys)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.child.kill();
            let _ = std::fs::remove_dir_all(&node.dir);
        }
    }
}
