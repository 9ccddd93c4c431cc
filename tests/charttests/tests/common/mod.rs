//! Helpers shared by the chart tests: helm without a cluster, the real binaries, and
//! processes with their logs.
#![allow(dead_code)]

use anyhow::{Context, Result, bail};
use roomshard_testkit::process::{ChildGuard, wait_until};
use serde::Deserialize as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

pub fn repo() -> PathBuf {
    roomshard_testkit::repo_root()
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
pub fn documents(yaml: &str) -> Result<Vec<serde_yaml::Value>> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_yaml::Value::deserialize(doc)?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The object of `kind` named `name` among `docs`.
pub fn find<'a>(
    docs: &'a [serde_yaml::Value],
    kind: &str,
    name: &str,
) -> Option<&'a serde_yaml::Value> {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
}

pub fn kinds(docs: &[serde_yaml::Value]) -> Vec<String> {
    let mut kinds: Vec<String> = docs
        .iter()
        .filter_map(|d| d["kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds
}

/// The real binaries, built once per test process by cargo into the current target
/// folder (a no-op when `cargo test --workspace` already built them; a first build when a
/// single package's tests run).
pub struct Binaries {
    pub worker: PathBuf,
    pub matchmaker: PathBuf,
    pub operator: PathBuf,
}

static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();

pub fn binaries() -> Result<&'static Binaries> {
    BINARIES
        .get_or_init(|| build_binaries().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("building the Roomshard binaries failed: {e}"))
}

fn build_binaries() -> Result<Binaries> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo())
        // The whole workspace's binaries with dev-dependencies in feature resolution
        // (`--examples` turns that on): the same build `cargo test --workspace` makes, so
        // under it this is a no-op instead of a second build with other features.
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--workspace",
            "--bins",
            "--examples",
        ])
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "cargo build --workspace --bins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut found = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        if let (Some(name), Some(exe)) =
            (msg["target"]["name"].as_str(), msg["executable"].as_str())
        {
            found.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    let mut take = |name: &str| {
        found
            .remove(name)
            .with_context(|| format!("cargo build reported no executable {name}"))
    };
    Ok(Binaries {
        worker: take("roomshard-worker")?,
        matchmaker: take("roomshard-matchmaker")?,
        operator: take("roomshard-operator")?,
    })
}

/// A child process with its log file, for error messages that show what it said.
pub struct Proc {
    pub name: String,
    pub log: PathBuf,
    pub child: ChildGuard,
}

impl Proc {
    pub fn spawn(name: &str, cmd: Command, dir: &Path) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let child = ChildGuard::spawn(name, cmd, &log)?;
        Ok(Self {
            name: name.to_owned(),
            log,
            child,
        })
    }

    /// The last lines of the process's log.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits until `/healthz` on `port` answers 200, failing early if the process exits.
    pub fn wait_healthy(&mut self, port: u16, deadline: Duration) -> Result<()> {
        let name = self.name.clone();
        let result = wait_until(&format!("{name} /healthz"), deadline, || {
            if let Some(status) = self.child.try_status() {
                return Some(Err(anyhow::anyhow!("{name} exited with {status}")));
            }
            roomshard_charttests::http(port, "GET", "/healthz", None)
                .ok()
                .filter(|r| r.status == 200)
                .map(|_| Ok(()))
        });
        match result.and_then(|r| r) {
            Ok(()) => Ok(()),
            Err(e) => bail!("{e:#}\n--- {name} log ---\n{}", self.tail()),
        }
    }
}
