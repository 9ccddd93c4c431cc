//! The Helm chart: lint, render, schema, server-side validation on a real kube-apiserver,
//! and an install that the real operator, running as the chart's ServiceAccount, acts on.

mod common;

use anyhow::{Context, Result, bail, ensure};
use common::{
    ALL_ON, apply_roomshardset_crd, chart, documents, find, helm, kinds, repo, run_ok, template,
    wait_crd_established,
};
use roomshard_testkit::bins::command;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::metrics::Scrape;
use roomshard_testkit::process::{Proc, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use serde_json::Value;
use std::time::Duration;

const NS: &str = "roomshard-system";

#[test]
fn helm_lint_passes_with_default_and_all_optional_parts() -> Result<()> {
    run_ok(
        "helm lint",
        helm()?.arg("lint").arg(chart()).arg("--strict"),
    )?;
    run_ok(
        "helm lint (all on)",
        helm()?
            .arg("lint")
            .arg(chart())
            .arg("--strict")
            .args(ALL_ON),
    )?;
    Ok(())
}

#[test]
fn default_render_is_the_operator_with_hardened_pods_and_least_privilege() -> Result<()> {
    let docs = documents(&template(NS, &[])?)?;
    assert_eq!(
        kinds(&docs),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding"
        ],
        "optional parts stay off by default; the bounds on RoomShardSets are on"
    );

    let deploy =
        find(&docs, "Deployment", "rs-roomshard-operator").context("operator Deployment")?;
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "rs-roomshard-operator");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["command"][0], "roomshard-operator");
    assert_eq!(container["image"], "ghcr.io/roomshard/roomshard:0.1.0");
    let sc = &container["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["limits"]["memory"].is_string());
    let env: Vec<&str> = container["env"]
        .as_array()
        .context("env")?
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for name in [
        "OPS_PORT",
        "LEASE_NAME",
        "POD_NAME",
        "POD_NAMESPACE",
        "RUST_LOG",
    ] {
        assert!(env.contains(&name), "operator env lacks {name}: {env:?}");
    }
    assert!(
        !env.contains(&"REDIS_URL"),
        "no default Redis unless configured"
    );
    // Sets that name no resources still run bounded.
    let defaults = container["env"]
        .as_array()
        .context("env")?
        .iter()
        .find(|e| e["name"] == "DEFAULT_RESOURCES")
        .context("DEFAULT_RESOURCES")?;
    let defaults: Value =
        serde_json::from_str(defaults["value"].as_str().context("a plain value")?)?;
    assert_eq!(defaults["requests"]["cpu"], "100m");
    assert_eq!(defaults["limits"]["memory"], "512Mi");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");

    for d in &docs {
        let labels = &d["metadata"]["labels"];
        for key in [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
            "helm.sh/chart",
        ] {
            assert!(
                labels[key].is_string(),
                "{} {} lacks label {key}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["name"].as_str().unwrap_or("?")
            );
        }
    }

    // Least privilege: no wildcards, no access to Pods, Secrets only by name-free
    // create/get, nothing cluster-scoped, and leases only in the release namespace.
    let role = find(&docs, "ClusterRole", "rs-roomshard-operator").context("ClusterRole")?;
    let grants = grants(role)?;
    assert!(!grants.iter().any(|g| g.contains('*')), "{grants:?}");
    for needed in [
        "roomshard.dev/roomshardsets:watch",
        "roomshard.dev/roomshardsets/status:patch",
        "roomshard.dev/roomshardsets/scale:patch",
        "roomshard.dev/roomshardsets/finalizers:update",
        "apps/statefulsets:patch",
        "apps/statefulsets:create",
        "apps/deployments:patch",
        "/services:patch",
        "/services:delete",
        "policy/poddisruptionbudgets:patch",
        "networking.k8s.io/ingresses:patch",
        "networking.k8s.io/ingresses:watch",
        "networking.k8s.io/ingresses:delete",
        "/secrets:create",
        "/secrets:get",
        "/pods:list",
        "/pods:delete",
        // The rollout's canary: no more than the StatefulSets it may create already start.
        "/pods:create",
        "/configmaps:patch",
        "/configmaps:create",
        "events.k8s.io/events:create",
    ] {
        assert!(
            grants.iter().any(|g| g == needed),
            "ClusterRole lacks {needed}"
        );
    }
    for forbidden in [
        "/secrets:list",
        "/secrets:watch",
        "/pods:watch",
        "/pods:patch",
        "/secrets:delete",
        "/configmaps:list",
        "/configmaps:delete",
        "/secrets:patch",
        "apiextensions.k8s.io/customresourcedefinitions:get",
    ] {
        assert!(
            !grants.iter().any(|g| g == forbidden),
            "ClusterRole grants {forbidden}"
        );
    }
    assert!(
        !grants.iter().any(|g| g.starts_with("coordination.k8s.io")),
        "leases belong in the namespaced Role"
    );
    let lease_role = find(&docs, "Role", "rs-roomshard-operator-leader-election")
        .context("leader-election Role")?;
    assert_eq!(lease_role["metadata"]["namespace"], NS);
    assert_eq!(lease_role["rules"][0]["resources"][0], "leases");

    let dashboard = find(&docs, "ConfigMap", "rs-roomshard-dashboard").context("dashboard")?;
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let json = dashboard["data"]["roomshard.json"]
        .as_str()
        .context("dashboard data")?;
    let file = std::fs::read_to_string(chart().join("files/dashboard.json"))?;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(json)?,
        serde_json::from_str::<serde_json::Value>(&file)?,
        "the ConfigMap carries files/dashboard.json"
    );
    Ok(())
}

/// Every `group/resource:verb` a Role or ClusterRole grants.
fn grants(role: &Value) -> Result<Vec<String>> {
    let mut grants = Vec::new();
    for rule in role["rules"].as_array().context("rules")? {
        for group in rule["apiGroups"].as_array().context("apiGroups")? {
            for resource in rule["resources"].as_array().context("resources")? {
                for verb in rule["verbs"].as_array().context("verbs")? {
                    grants.push(format!(
                        "{}/{}:{}",
                        group.as_str().unwrap_or("?"),
                        resource.as_str().unwrap_or("?"),
                        verb.as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    Ok(grants)
}

#[test]
fn a_namespace_bound_operator_gets_namespaced_rights_only() -> Result<()> {
    let docs = documents(&template(NS, &["--set", "operator.watchNamespace=games"])?)?;
    let kinds = kinds(&docs);
    assert!(
        !kinds.iter().any(|k| k.starts_with("Cluster")),
        "no cluster-wide rights: {kinds:?}"
    );
    let role = find(&docs, "Role", "rs-roomshard-operator").context("the operator's Role")?;
    assert_eq!(role["metadata"]["namespace"], "games");
    assert!(grants(role)?.contains(&"apps/statefulsets:patch".to_owned()));
    let binding = find(&docs, "RoleBinding", "rs-roomshard-operator").context("RoleBinding")?;
    assert_eq!(binding["metadata"]["namespace"], "games");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["subjects"][0]["namespace"], NS);
    let policy = find(
        &docs,
        "ValidatingAdmissionPolicyBinding",
        "rs-roomshard-roomshardset-bounds",
    )
    .context("policy binding")?;
    assert_eq!(
        policy["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "games"
    );
    Ok(())
}

#[test]
fn optional_parts_render_when_switched_on() -> Result<()> {
    let docs = documents(&template(NS, ALL_ON)?)?;
    let kinds = kinds(&docs);
    for kind in [
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "NetworkPolicy",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }

    let rule = find(&docs, "PrometheusRule", "rs-roomshard").context("PrometheusRule")?;
    let alerts: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart().join("files/alerts.yaml"))?)?;
    assert_eq!(
        rule["spec"], alerts,
        "the PrometheusRule is files/alerts.yaml"
    );

    let redis = find(&docs, "Deployment", "rs-roomshard-redis").context("Redis Deployment")?;
    let pod = &redis["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "redis:7");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
    ensure!(
        find(&docs, "Service", "rs-roomshard-redis").is_some(),
        "Redis Service"
    );

    let operator = find(&docs, "Deployment", "rs-roomshard-operator").context("operator")?;
    let operator_env = |name: &str| {
        operator["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .and_then(|env| env.iter().find(|e| e["name"] == name))
            .and_then(|e| e["value"].as_str())
            .with_context(|| format!("operator env {name}"))
    };
    let redis_url = operator_env("REDIS_URL")?;
    assert_eq!(
        redis_url,
        "redis://rs-roomshard-redis.roomshard-system.svc:6379"
    );
    let auth: Value = serde_json::from_str(operator_env("DEFAULT_MATCHMAKER_AUTH")?)?;
    assert_eq!(auth["mode"], "jwt");
    let hooks: Value = serde_json::from_str(operator_env("DEFAULT_HOOKS")?)?;
    assert_eq!(hooks["onJoin"]["url"], "http://backend.games:8080/join");
    assert_eq!(hooks["onJoin"]["timeoutMs"], 500);

    let monitor = find(&docs, "PodMonitor", "rs-roomshard-workloads").context("PodMonitor")?;
    let ports = monitored_ports(monitor)?;
    assert_eq!(
        ports,
        ["ops"],
        "workers and matchmakers are scraped on their ops port"
    );
    Ok(())
}

#[test]
fn values_schema_rejects_misspelt_and_mistyped_values() -> Result<()> {
    for bad in [
        "operator.redisUrll=redis://x:6379",
        "replicaCont=2",
        "serviceMonitor.enabeld=true",
        "redis.image.tagg=7",
    ] {
        let out = helm()?
            .args(["template", "rs"])
            .arg(chart())
            .args(["--set", bad])
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {bad} was accepted");
        assert!(
            stderr.contains("additional properties") && stderr.contains("not allowed"),
            "--set {bad}: {stderr}"
        );
    }
    let out = helm()?
        .args(["template", "rs"])
        .arg(chart())
        .args(["--set", "image.pullPolicy=Sometimes"])
        .output()?;
    assert!(!out.status.success(), "an unknown pull policy was accepted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema"));
    Ok(())
}

#[test]
fn chart_crd_is_the_generated_crd() -> Result<()> {
    let generated = std::fs::read_to_string(repo().join("crds/roomshardset.yaml"))
        .context("reading crds/roomshardset.yaml (make generate writes it)")?;
    let in_chart = std::fs::read_to_string(chart().join("crds/roomshardset.yaml"))?;
    assert_eq!(generated, in_chart);
    let crd: Value = serde_saphyr::from_str(&generated)?;
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    assert_eq!(crd["metadata"]["name"], "roomshardsets.roomshard.dev");
    Ok(())
}

/// The port names a PodMonitor scrapes.
fn monitored_ports(monitor: &Value) -> Result<Vec<&str>> {
    Ok(monitor["spec"]["podMetricsEndpoints"]
        .as_array()
        .context("endpoints")?
        .iter()
        .filter_map(|e| e["port"].as_str())
        .collect())
}

/// `kubectl apply --dry-run=server -f -` with `manifests` on stdin.
fn server_dry_run(plane: &ControlPlane, manifests: &str) -> Result<String> {
    let out = plane.kubectl_with_input(&["apply", "--dry-run=server", "-f", "-"], manifests)?;
    if !out.status.success() {
        bail!(
            "server-side dry run rejected the manifests:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn rendered_manifests_pass_server_side_validation() -> Result<()> {
    let plane = ControlPlane::start()?;
    run_ok(
        "create namespace",
        plane.kubectl().args(["create", "namespace", NS]),
    )?;
    // The monitoring.coreos.com kinds come from minimal CRDs (any spec is accepted), so
    // for them this checks kind, group, version and metadata; their spec is checked by
    // the render test above and by promtool.
    run_ok(
        "apply monitoring CRDs",
        plane
            .kubectl()
            .arg("apply")
            .arg("-f")
            .arg(repo().join("tests/charttests/fixtures/monitoring-crds.yaml")),
    )?;
    for crd in [
        "servicemonitors.monitoring.coreos.com",
        "podmonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
    ] {
        wait_crd_established(&plane, crd)?;
    }

    let defaults = server_dry_run(&plane, &template(NS, &[])?)?;
    assert!(defaults.contains("deployment.apps/rs-roomshard-operator created (server dry run)"));

    let all_on = server_dry_run(&plane, &template(NS, ALL_ON)?)?;
    for object in [
        "deployment.apps/rs-roomshard-redis",
        "networkpolicy.networking.k8s.io/rs-roomshard-operator",
        "servicemonitor.monitoring.coreos.com/rs-roomshard-operator",
        "podmonitor.monitoring.coreos.com/rs-roomshard-workloads",
        "prometheusrule.monitoring.coreos.com/rs-roomshard",
    ] {
        assert!(all_on.contains(object), "{object} missing from:\n{all_on}");
    }

    // The CRD itself and the example resource against it.
    apply_roomshardset_crd(&plane)?;
    let example = std::fs::read_to_string(repo().join("examples/roomshardset.yaml"))?;
    let out = server_dry_run(&plane, &example)?;
    assert!(
        out.contains("roomshardset.roomshard.dev/arena created"),
        "{out}"
    );
    Ok(())
}

fn kube_get(plane: &ControlPlane, ns: &str, what: &str) -> Option<serde_json::Value> {
    let out = plane
        .kubectl()
        .args(["get", "-n", ns, what, "-o", "json"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
fn helm_install_then_the_operator_as_its_service_account_reconciles_the_example() -> Result<()> {
    let plane = ControlPlane::start()?;
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("chart-install")?;

    run_ok(
        "helm install",
        plane.helm().args([
            "install",
            "rs",
            chart().to_str().context("chart path")?,
            "--namespace",
            NS,
            "--create-namespace",
            "--wait=false",
            "--set",
            &format!("operator.redisUrl={}", redis.url()),
        ]),
    )?;
    // helm installs the CRD from the chart's crds/ folder.
    wait_crd_established(&plane, "roomshardsets.roomshard.dev")?;

    // A kubeconfig with the ServiceAccount's token: the operator gets exactly the
    // chart's RBAC, so a missing permission fails this test.
    let token = run_ok(
        "kubectl create token",
        plane.kubectl().args([
            "create",
            "token",
            "rs-roomshard-operator",
            "-n",
            NS,
            "--duration=1h",
        ]),
    )?;
    let token = String::from_utf8(token.stdout)?.trim().to_owned();
    let kubeconfig = dir.join("operator-kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\nusers:\n- name: operator\n  user:\n    token: {token}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: operator\n    namespace: {NS}\ncurrent-context: test\n",
            plane.server_url()
        ),
    )?;

    run_ok(
        "kubectl apply the example",
        plane
            .kubectl()
            .args(["apply", "-n", "default", "-f"])
            .arg(repo().join("examples/roomshardset.yaml")),
    )?;

    let port = free_port()?;
    let mut cmd = command("roomshard-operator")?;
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("REDIS_URL", redis.url())
        .env("POD_NAMESPACE", NS)
        .env("POD_NAME", "rs-roomshard-operator-test")
        .env("LEASE_NAME", "roomshard-operator")
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", port.to_string())
        .env("RUST_LOG", "info");
    let mut operator = Proc::spawn("operator", cmd, port, &dir, "operator")?;
    operator.wait_ok("/healthz", Duration::from_secs(30))?;

    let deadline = Duration::from_secs(60);
    let owned = [
        "statefulset/arena",
        "service/arena",
        "service/arena-headless",
        "service/arena-shard-0",
        "service/arena-shard-1",
        "service/arena-shard-2",
        "deployment/arena-matchmaker",
        "poddisruptionbudget/arena",
    ];
    for what in owned {
        let obj = wait_until(&format!("{what} written by the operator"), deadline, || {
            if let Some(status) = operator.child.try_status() {
                return Some(Err(anyhow::anyhow!("the operator exited with {status}")));
            }
            kube_get(&plane, "default", what).map(Ok)
        })
        .and_then(|r| r)
        .with_context(|| format!("--- operator log ---\n{}", operator.logs()))?;
        let owner = &obj["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "RoomShardSet", "{what} owner");
        assert_eq!(owner["name"], "arena", "{what} owner");
        assert_eq!(owner["controller"], true, "{what} owner");
    }
    let sts = kube_get(&plane, "default", "statefulset/arena").context("sts")?;
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/roomshard/roomshard:0.1.0"
    );

    // The chart's PodMonitor finds the pods the operator writes: its label selector
    // matches their template labels and its endpoint ports are their named ports.
    let rendered = documents(&template(NS, ALL_ON)?)?;
    let monitor = find(&rendered, "PodMonitor", "rs-roomshard-workloads").context("PodMonitor")?;
    let selector = &monitor["spec"]["selector"];
    let components: Vec<&str> = selector["matchExpressions"][0]["values"]
        .as_array()
        .context("component values")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let monitored_ports = monitored_ports(monitor)?;
    for (what, component) in [
        ("statefulset/arena", "worker"),
        ("deployment/arena-matchmaker", "matchmaker"),
    ] {
        let obj = kube_get(&plane, "default", what).context(what)?;
        let template = &obj["spec"]["template"];
        let labels = &template["metadata"]["labels"];
        for (key, value) in selector["matchLabels"].as_object().context("matchLabels")? {
            assert_eq!(
                labels[key.as_str()].as_str(),
                value.as_str(),
                "{what} pods lack the PodMonitor label {key}"
            );
        }
        assert_eq!(labels["app.kubernetes.io/component"], component);
        assert!(components.contains(&component));
        let ports: Vec<&str> = template["spec"]["containers"][0]["ports"]
            .as_array()
            .context("ports")?
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            ports.iter().any(|p| monitored_ports.contains(p)),
            "{what} exposes {ports:?}, the PodMonitor scrapes {monitored_ports:?}"
        );
    }

    // It holds the lease in the release namespace and reports no failed reconcile.
    let lease = kube_get(&plane, NS, "lease/roomshard-operator").context("the Lease")?;
    assert_eq!(
        lease["spec"]["holderIdentity"],
        "rs-roomshard-operator-test"
    );
    let metrics = Scrape::of(port)?.text;
    assert!(
        !metrics.lines().any(|l| {
            l.starts_with("roomshard_operator_reconcile_failures_total{") && !l.ends_with(" 0")
        }),
        "reconciles failed under the chart's RBAC:\n{metrics}\n--- operator log ---\n{}",
        operator.logs()
    );
    let log = std::fs::read_to_string(&operator.log)?;
    assert!(
        !log.contains("forbidden"),
        "the operator was refused something:\n{}",
        operator.logs()
    );

    // The CRD stays when the release goes (the crds/ convention), so sets survive.
    operator.child.signal("TERM")?;
    operator.child.wait_exit(Duration::from_secs(15))?;
    run_ok(
        "helm uninstall",
        plane
            .helm()
            .args(["uninstall", "rs", "--namespace", NS, "--wait=false"]),
    )?;
    ensure!(
        kube_get(&plane, "default", "crd/roomshardsets.roomshard.dev").is_some(),
        "helm uninstall removed the CRD"
    );
    ensure!(
        kube_get(&plane, "default", "roomshardset/arena").is_some(),
        "the RoomShardSet went with the release"
    );
    ensure!(
        kube_get(&plane, NS, "deployment/rs-roomshard-operator").is_none(),
        "helm uninstall left the operator Deployment"
    );
    Ok(())
}
