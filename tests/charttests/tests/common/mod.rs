//! Helpers shared by the chart tests: helm without a cluster, and reading what it renders.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use roomshard_testkit::control_plane::ControlPlane;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    roomshard_testkit::repo_root()
}

/// `kubectl wait` until the API server has established the CRD `name`.
pub fn wait_crd_established(plane: &ControlPlane, name: &str) -> Result<()> {
    run_ok(
        &format!("kubectl wait for {name}"),
        plane.kubectl().args([
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{name}"),
        ]),
    )
    .map(|_| ())
}

/// Applies `crds/roomshardset.yaml` server-side and waits until it is established.
pub fn apply_roomshardset_crd(plane: &ControlPlane) -> Result<()> {
    run_ok(
        "apply the CRD",
        plane
            .kubectl()
            .args(["apply", "--server-side", "-f"])
            .arg(repo().join("crds/roomshardset.yaml")),
    )?;
    wait_crd_established(plane, "roomshardsets.roomshard.dev")
}

pub fn chart() -> PathBuf {
    roomshard_charttests::chart_dir(&repo())
}

/// The values that switch every optional part of the chart on.
pub const ALL_ON: &[&str] = &[
    "--set",
    "redis.enabled=true",
    "--set",
    "serviceMonitor.enabled=true",
    "--set",
    "prometheusRule.enabled=true",
    "--set",
    "networkPolicy.enabled=true",
    "--set-json",
    r#"operator.defaultMatchmakerAuth={"mode":"jwt","jwksUrl":"https://id.example/jwks.json"}"#,
    "--set-json",
    r#"operator.defaultHooks={"onJoin":{"url":"http://backend.games:8080/join","timeoutMs":500}}"#,
];

/// `helm` from the control-plane assets, with its state in a scratch folder; for commands
/// that need no cluster (lint, template).
pub fn helm() -> Result<Command> {
    let assets = roomshard_testkit::control_plane::assets()?;
    let bin = assets.join("helm");
    if !bin.is_file() {
        bail!(
            "helm is missing in {}: run hack/install-control-plane.sh",
            assets.display()
        );
    }
    let home = roomshard_testkit::scratch_dir("helm-home")?;
    let mut cmd = Command::new(bin);
    cmd.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG");
    Ok(cmd)
}

/// Runs a command and fails with its output unless it succeeds.
pub fn run_ok(what: &str, cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// `helm template` of the chart into `namespace` with extra arguments.
pub fn template(namespace: &str, extra: &[&str]) -> Result<String> {
    let mut cmd = helm()?;
    cmd.args(["template", "rs"])
        .arg(chart())
        .args(["--namespace", namespace])
        .args(extra);
    let out = run_ok("helm template", &mut cmd)?;
    Ok(String::from_utf8(out.stdout)?)
}

/// Every object of a multi-document YAML stream.
pub fn documents(yaml: &str) -> Result<Vec<serde_json::Value>> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(yaml)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// The object of `kind` named `name` among `docs`.
pub fn find<'a>(
    docs: &'a [serde_json::Value],
    kind: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
}

pub fn kinds(docs: &[serde_json::Value]) -> Vec<String> {
    let mut kinds: Vec<String> = docs
        .iter()
        .filter_map(|d| d["kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds
}
