//! The dashboard and the alerts name only metrics the code exports, and a real Prometheus
//! scraping a real worker, matchmaker and operator answers every dashboard query.
//!
//! One test runs the whole stack once (Redis, a kube-apiserver, the three binaries,
//! Prometheus and a Socket.IO player) because starting it dominates the cost; it drives
//! the paths that make labelled series appear (a reservation, a join, a refused move, a
//! failing reconcile, Redis going away) before checking names and queries.

mod common;

use anyhow::{Context, Result, bail};
use common::{apply_roomshardset_crd, chart, repo};
use roomshard_charttests::{
    DashboardQuery, METRIC_PREFIX, concrete_query, dashboard_queries, declared_metric_types,
    exposed_metric_names, promql_metric_names, rules, url_encode,
};
use roomshard_testkit::bins::command;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::http::{Answer, send};
use roomshard_testkit::metrics::Scrape;
use roomshard_testkit::process::Proc;
use roomshard_testkit::process::{find_program, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN_SECRET: &str = "metrics-test-token-secret-0123456789";
const SET: &str = "arena";

fn dashboard() -> Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        chart().join("files/dashboard.json"),
    )?)?)
}

fn alert_rules() -> Result<Vec<roomshard_charttests::Rule>> {
    rules(&serde_saphyr::from_str(&std::fs::read_to_string(
        chart().join("files/alerts.yaml"),
    )?)?)
}

/// Every metric name the dashboard and the alerts read, with where each is read.
fn referenced_names() -> Result<BTreeMap<String, Vec<String>>> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for DashboardQuery { panel, expr } in dashboard_queries(&dashboard()?) {
        for name in promql_metric_names(&expr) {
            names
                .entry(name)
                .or_default()
                .push(format!("panel {panel}"));
        }
    }
    for rule in alert_rules()? {
        for name in promql_metric_names(&rule.expr) {
            names
                .entry(name)
                .or_default()
                .push(format!("alert {}", rule.name));
        }
    }
    Ok(names)
}

#[test]
fn dashboard_and_alerts_read_roomshard_metrics() -> Result<()> {
    let names = referenced_names()?;
    for component in ["worker", "matchmaker", "operator"] {
        let prefix = format!("{METRIC_PREFIX}{component}_");
        assert!(
            names.keys().any(|n| n.starts_with(&prefix)),
            "nothing reads {prefix}* metrics"
        );
    }
    let queries = dashboard_queries(&dashboard()?);
    assert!(
        queries.len() >= 20,
        "only {} dashboard queries",
        queries.len()
    );
    for q in &queries {
        assert!(
            !promql_metric_names(&q.expr).is_empty(),
            "panel {} reads no roomshard metric: {}",
            q.panel,
            q.expr
        );
    }
    Ok(())
}

/// Prometheus on a free loopback port scraping `targets` every second, with the chart's
/// alert rules loaded.
struct Prometheus {
    port: u16,
    proc: Proc,
}

impl Prometheus {
    fn start(dir: &std::path::Path, targets: &[(&str, u16, &str)]) -> Result<Self> {
        let bin = find_program("prometheus").context(
            "prometheus is not installed: run hack/install-deps.sh (Debian package prometheus)",
        )?;
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nrule_files:\n",
        );
        config.push_str(&format!(
            "  - {}\nscrape_configs:\n",
            chart().join("files/alerts.yaml").display()
        ));
        for (job, port, pod) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n        labels:\n          namespace: games\n          pod: {pod}\n"
            ));
        }
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config)?;
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        let mut proc = Proc::spawn("prometheus", cmd, port, dir, "prometheus")?;
        proc.wait_ok("/-/ready", Duration::from_secs(30))?;
        Ok(Self { port, proc })
    }

    /// `GET /api/v1/query`: the result vector, or an error for a failed query.
    fn query(&self, expr: &str) -> Result<Vec<Value>> {
        let path = format!("/api/v1/query?query={}", url_encode(expr));
        let response = send(self.port, "GET", &path, None)?;
        let body: Value = serde_json::from_str(&response.body)
            .with_context(|| format!("query {expr}: {}", response.body))?;
        if body["status"] != "success" {
            bail!("query {expr} failed: {}", response.body);
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

fn reserve(matchmaker_port: u16) -> Result<Answer> {
    send(
        matchmaker_port,
        "POST",
        "/reserve",
        Some(r#"{"track":"default","player":"probe"}"#),
    )
}

fn kubectl_stdin(plane: &ControlPlane, args: &[&str], input: &str) -> Result<()> {
    let out = plane.kubectl_with_input(args, input)?;
    if !out.status.success() {
        bail!("kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

#[test]
fn every_dashboard_and_alert_metric_is_exported_and_prometheus_answers_every_panel() -> Result<()> {
    let dir = roomshard_testkit::scratch_dir("metrics")?;
    let mut redis = RedisServer::start()?;

    // The operator, on a real API server with the CRD.
    let plane = ControlPlane::start()?;
    apply_roomshardset_crd(&plane)?;
    let operator_port = free_port()?;
    let mut cmd = command("roomshard-operator")?;
    cmd.envs(plane.env())
        .env("REDIS_URL", redis.url())
        .env("POD_NAMESPACE", "default")
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", operator_port.to_string())
        .env("LEASE_DURATION_SECONDS", "5")
        .env("LEASE_GRACE_SECONDS", "2");
    let mut operator = Proc::spawn("operator", cmd, operator_port, &dir, "operator")?;
    operator.wait_ok("/healthz", Duration::from_secs(30))?;

    // A worker shard and a matchmaker sharing Redis and the token secret.
    let worker_port = free_port()?;
    let mut cmd = command("roomshard-worker")?;
    cmd.env("PORT", worker_port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("ROOM_SHARD", "0/1")
        .env("REDIS_URL", redis.url())
        .env("ROOMSHARD_SET", SET)
        .env("ROOMSHARD_TOKEN_SECRET", TOKEN_SECRET)
        .env("PUBLIC_URL", format!("ws://127.0.0.1:{worker_port}"))
        .env("POD_NAME", "arena-0")
        .env("HEARTBEAT_INTERVAL_MS", "500");
    let mut worker = Proc::spawn("worker", cmd, worker_port, &dir, "worker")?;
    worker.wait_ok("/healthz", Duration::from_secs(30))?;

    let matchmaker_port = free_port()?;
    let mut cmd = command("roomshard-matchmaker")?;
    cmd.env("PORT", matchmaker_port.to_string())
        .env("BIND", "127.0.0.1")
        .env("REDIS_URL", redis.url())
        .env("ROOMSHARD_SET", SET)
        .env("ROOMSHARD_TOKEN_SECRET", TOKEN_SECRET)
        .env("PUBLIC_URL", format!("ws://127.0.0.1:{worker_port}"))
        .env("HEARTBEAT_INTERVAL_MS", "500");
    let mut matchmaker = Proc::spawn("matchmaker", cmd, matchmaker_port, &dir, "matchmaker")?;
    matchmaker.wait_ok("/healthz", Duration::from_secs(30))?;

    let prometheus = Prometheus::start(
        &dir,
        &[
            ("roomshard-worker", worker_port, "arena-0"),
            ("roomshard-matchmaker", matchmaker_port, "arena-matchmaker"),
            ("roomshard-operator", operator_port, "roomshard-operator"),
        ],
    )?;

    // A seat, once the worker's heartbeat makes its shard healthy.
    let seat = wait_until("a granted reservation", Duration::from_secs(30), || {
        reserve(matchmaker_port).ok().filter(|r| r.status == 200)
    })
    .with_context(|| format!("--- matchmaker log ---\n{}", matchmaker.logs()))?;
    let seat: Value = serde_json::from_str(&seat.body)?;
    let room = seat["room"].as_str().context("room")?;
    let token = seat["token"].as_str().context("token")?;

    // A player joins with it, moves, is refused one move, chats and leaves.
    let node_dir = roomshard_testkit::node::ensure_installed()?;
    let out = Command::new("node")
        .arg(repo().join("tests/charttests/fixtures/player.cjs"))
        .arg(format!("http://127.0.0.1:{worker_port}"))
        .arg(room)
        .arg(token)
        .env("NODE_PATH", node_dir.join("node_modules"))
        .output()
        .context("running node")?;
    if !out.status.success() {
        bail!(
            "the player failed: {}{}\n--- worker log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            worker.logs()
        );
    }

    // A set whose StatefulSet name is taken by one with another selector: applying the
    // operator's StatefulSet fails (the selector is immutable), so reconciles fail.
    kubectl_stdin(
        &plane,
        &["apply", "-f", "-"],
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: clash\n  namespace: default\nspec:\n  serviceName: clash\n  replicas: 0\n  selector:\n    matchLabels:\n      app: somebody-else\n  template:\n    metadata:\n      labels:\n        app: somebody-else\n    spec:\n      containers:\n        - name: c\n          image: example.invalid/c:1\n---\napiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: clash\n  namespace: default\nspec:\n  shards: 1\n  image: example.invalid/roomshard:1\n",
    )?;
    wait_until("a failed reconcile", Duration::from_secs(60), || {
        Scrape::of(operator_port).ok().map(|s| s.text).filter(|m| {
            m.lines().any(|l| {
                l.starts_with("roomshard_operator_reconcile_failures_total{") && !l.ends_with(" 0")
            })
        })
    })
    .with_context(|| format!("--- operator log ---\n{}", operator.logs()))?;

    let mut exposed = BTreeSet::new();
    let mut types = Vec::new();
    for port in [worker_port, matchmaker_port, operator_port] {
        let text = Scrape::of(port)?.text;
        exposed.extend(exposed_metric_names(&text));
        types.extend(declared_metric_types(&text));
    }

    // Redis goes away: Redis error counters and the redis_unavailable outcome appear.
    redis.kill();
    wait_until("a 503 from /reserve", Duration::from_secs(20), || {
        reserve(matchmaker_port).ok().filter(|r| r.status == 503)
    })?;
    for (port, name) in [
        (worker_port, "roomshard_worker_redis_errors_total{"),
        (matchmaker_port, "roomshard_matchmaker_redis_errors_total{"),
    ] {
        wait_until(
            &format!("{name} on port {port}"),
            Duration::from_secs(20),
            || {
                Scrape::of(port)
                    .ok()
                    .map(|s| s.text)
                    .filter(|m| m.contains(name))
            },
        )?;
    }
    for port in [worker_port, matchmaker_port, operator_port] {
        let text = Scrape::of(port)?.text;
        exposed.extend(exposed_metric_names(&text));
        types.extend(declared_metric_types(&text));
    }

    // 1. Every name the dashboard and the alerts read is exported.
    let referenced = referenced_names()?;
    let missing: Vec<String> = referenced
        .iter()
        .filter(|(name, _)| !exposed.contains(*name))
        .map(|(name, used)| format!("{name} (read by {})", used.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics read but not exported:\n  {}\nexported: {exposed:?}",
        missing.join("\n  ")
    );
    // Counters end in _total; histograms are read through _bucket, _sum or _count.
    for (name, kind) in &types {
        if !name.starts_with(METRIC_PREFIX) {
            continue;
        }
        match kind.as_str() {
            "counter" => assert!(name.ends_with("_total"), "counter {name} lacks _total"),
            "histogram" => assert!(
                !referenced.contains_key(name),
                "histogram {name} is read without _bucket/_sum/_count"
            ),
            _ => {}
        }
    }

    // 2. Prometheus has data for every panel query (Grafana variables filled in).
    let mut pending: Vec<DashboardQuery> = dashboard_queries(&dashboard()?)
        .into_iter()
        .filter(|q| !q.panel.starts_with("variable "))
        .collect();
    let start = Instant::now();
    let deadline = Duration::from_secs(90);
    while !pending.is_empty() {
        let mut still = Vec::new();
        for q in pending {
            let expr = concrete_query(&q.expr, "20s");
            if prometheus.query(&expr)?.is_empty() {
                still.push(q);
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if start.elapsed() > deadline {
            let list: Vec<String> = pending
                .iter()
                .map(|q| format!("{}: {}", q.panel, q.expr))
                .collect();
            bail!(
                "Prometheus returned no data within {deadline:?} for:\n  {}\n--- prometheus log ---\n{}",
                list.join("\n  "),
                prometheus.proc.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // 3. Prometheus loaded every alert rule and evaluates it without error.
    let rules: Value =
        serde_json::from_str(&send(prometheus.port, "GET", "/api/v1/rules", None)?.body)?;
    let loaded: Vec<&Value> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(loaded.len(), alert_rules()?.len(), "rules loaded: {rules}");
    wait_until("every rule evaluated", Duration::from_secs(30), || {
        let rules: Value = serde_json::from_str(
            &send(prometheus.port, "GET", "/api/v1/rules", None)
                .ok()?
                .body,
        )
        .ok()?;
        let all_ok = rules["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .all(|r| r["health"] == "ok");
        all_ok.then_some(())
    })?;

    for p in [&mut worker, &mut matchmaker, &mut operator] {
        assert!(
            p.child.try_status().is_none(),
            "{} exited early:\n{}",
            p.name,
            p.logs()
        );
    }
    Ok(())
}
