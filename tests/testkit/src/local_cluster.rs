//! A real single-node Kubernetes for tests: `hack/cluster-up.sh` (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, kubelet, kube-proxy, containerd, CoreDNS and
//! Traefik as the ingress controller), removed by `hack/cluster-down.sh` when dropped,
//! whether the test passed or not. Needs root.

use crate::process::wait_until;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The cluster's name; one local cluster runs on a machine at a time.
const NAME: &str = "rstest";

/// A running node; dropping it runs `hack/cluster-down.sh`.
pub struct LocalCluster {
    state: PathBuf,
    env: HashMap<String, String>,
    kubeconfig: PathBuf,
    control_plane: PathBuf,
    down: bool,
}

impl LocalCluster {
    /// Brings the node up (building what it needs on first use) and waits for CoreDNS and
    /// the ingress controller.
    pub fn up() -> Result<Self> {
        let state = std::env::temp_dir().join(format!("roomshard-cluster-{NAME}"));
        let out = script("cluster-up.sh", &state)
            .stderr(Stdio::inherit())
            .output()
            .context("running hack/cluster-up.sh")?;
        if !out.status.success() {
            bail!("hack/cluster-up.sh failed ({})", out.status);
        }
        let kubeconfig = PathBuf::from(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .context("hack/cluster-up.sh printed no kubeconfig")?
                .trim(),
        );
        let env = std::fs::read_to_string(state.join("env"))
            .context("reading the cluster's env file")?
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self {
            state,
            env,
            kubeconfig,
            control_plane: crate::control_plane::assets()?,
            down: false,
        })
    }

    /// A value of the cluster's env file (NODE_IP, POD_CIDR, INGRESS_URL, ...).
    pub fn env(&self, key: &str) -> Result<&str> {
        self.env
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("the cluster's env file has no {key}"))
    }

    /// The ingress controller's address as a client outside the cluster uses it.
    pub fn ingress_url(&self) -> Result<&str> {
        self.env("INGRESS_URL")
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// containerd's socket, for importing images.
    pub fn containerd_socket(&self) -> PathBuf {
        self.state.join("containerd/containerd.sock")
    }

    /// A command of the control plane's folder (`kubectl`, `helm`) aimed at this cluster.
    pub fn tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.control_plane.join(name));
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", self.state.join("helm/cache"))
            .env("HELM_CONFIG_HOME", self.state.join("helm/config"))
            .env("HELM_DATA_HOME", self.state.join("helm/data"))
            .stdin(Stdio::null());
        cmd
    }

    /// `kubectl ARGS...`, its standard output; fails with its error output.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        run_ok(self.tool("kubectl").args(args), "kubectl", args)
    }

    /// `helm ARGS...`, its standard output.
    pub fn helm(&self, args: &[&str]) -> Result<String> {
        run_ok(self.tool("helm").args(args), "helm", args)
    }

    /// `kubectl get ... -o json`.
    pub fn get_json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.kubectl(&all)?).context("kubectl get: not JSON")
    }

    /// Imports OCI archives (from `hack/image.sh`) into the node's containerd.
    pub fn import_images(&self, archives: &[PathBuf]) -> Result<()> {
        for a in archives {
            let out = Command::new("ctr")
                .arg("--address")
                .arg(self.containerd_socket())
                .args(["-n", "k8s.io", "images", "import"])
                .arg(a)
                .output()
                .context("running ctr")?;
            if !out.status.success() {
                bail!(
                    "ctr images import {}: {}",
                    a.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        Ok(())
    }

    /// Waits until `kubectl get pod NAME -o jsonpath={.status...}` and the like say so.
    pub fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        probe: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        wait_until(what, deadline, || probe(self).then_some(())).with_context(|| self.describe())
    }

    /// What the pods of every namespace are doing, for a failure's message.
    pub fn describe(&self) -> String {
        self.kubectl(&["get", "pods", "-A", "-o", "wide"])
            .unwrap_or_else(|e| format!("(kubectl get pods failed: {e:#})"))
    }

    /// Removes the cluster now and checks nothing is left.
    pub fn down(mut self) -> Result<()> {
        self.down = true;
        teardown(&self.state)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if !self.down
            && let Err(e) = teardown(&self.state)
        {
            eprintln!("local cluster: {e:#}");
        }
    }
}

/// What `hack/cluster-down.sh --check` finds left of the test cluster: processes, mounts,
/// the bridge, iptables chains, network namespaces, cgroups, the state folder. Empty when
/// all is gone.
pub fn leftovers() -> Result<String> {
    let state = std::env::temp_dir().join(format!("roomshard-cluster-{NAME}"));
    let out = script("cluster-down.sh", &state)
        .arg("--check")
        .output()
        .context("running hack/cluster-down.sh --check")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn teardown(state: &Path) -> Result<()> {
    let out = script("cluster-down.sh", state)
        .stderr(Stdio::inherit())
        .output()
        .context("running hack/cluster-down.sh")?;
    if !out.status.success() {
        bail!(
            "hack/cluster-down.sh failed ({}): something was left",
            out.status
        );
    }
    Ok(())
}

fn script(name: &str, state: &Path) -> Command {
    let mut cmd = Command::new(crate::repo_root().join("hack").join(name));
    cmd.env("ROOMSHARD_CLUSTER", NAME)
        .env("ROOMSHARD_CLUSTER_STATE", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd
}

fn run_ok(cmd: &mut Command, tool: &str, args: &[&str]) -> Result<String> {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().with_context(|| format!("running {tool}"))?;
    if !status.success() {
        bail!(
            "{tool} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}
