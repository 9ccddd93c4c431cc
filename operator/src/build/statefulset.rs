//! The worker StatefulSet, pod i running shard i, and its PodDisruptionBudget: a voluntary
//! eviction takes one shard at a time.
//!
//! Each pod learns its index from the `apps.kubernetes.io/pod-index` label through the
//! downward API (`ROOM_SHARD_INDEX`) and the total (`ROOM_SHARD_TOTAL`) from the set's
//! shard-count ConfigMap, read when the pod starts; the worker accepts that pair as the
//! equivalent of `ROOM_SHARD=i/N`. `ROOM_SHARD` is set too, as
//! `$(ROOM_SHARD_INDEX)/$(ROOM_SHARD_TOTAL)`, which the kubelet expands, so a person reading
//! the pod sees the familiar form. The total stays out of the pod template, so scaling
//! does not roll the pods of the shards that stay.

use super::container::{pod_security_context, served_container};
use super::env::{field_env, secret_env, value_env};
use super::{Inputs, OPS_PORT, POD_INDEX_LABEL, TOKEN_SECRET_KEY, names, selector_labels};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMapKeySelector, Container, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub const COMPONENT: &str = "worker";
/// Seconds a worker gets after its drain timeout, between SIGTERM and SIGKILL, to close
/// its connections and release its seats.
pub const TERMINATION_MARGIN_SECONDS: i64 = 15;

/// The worker StatefulSet with `replicas` pods (the spec's shards, or more while shards
/// beyond the new count are draining).
pub fn worker_statefulset(inputs: &Inputs<'_>, replicas: i32) -> StatefulSet {
    let name = &inputs.valid.name;
    let spec = &inputs.set.spec;
    let overrides = spec.pod_template.clone().unwrap_or_default();
    let mut pod_labels = overrides.labels.clone();
    // The set's own labels win: the selector must keep matching.
    pod_labels.extend(super::labels(name, COMPONENT));
    let port = spec.port();
    StatefulSet {
        metadata: inputs.meta(names::statefulset(name), COMPONENT),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(names::headless_service(name)),
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..LabelSelector::default()
            },
            // The operator rolls the pods itself, a shard at a time (crate::rollout).
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                ..StatefulSetUpdateStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: (!overrides.annotations.is_empty())
                        .then(|| overrides.annotations.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    // SIGTERM starts the worker's own drain (DRAIN_TIMEOUT_MS): the kubelet
                    // waits that long, and a margin, before it kills.
                    termination_grace_period_seconds: Some(
                        spec.drain_timeout_seconds()
                            .saturating_add(TERMINATION_MARGIN_SECONDS),
                    ),
                    node_selector: (!overrides.node_selector.is_empty())
                        .then(|| overrides.node_selector.clone()),
                    tolerations: (!overrides.tolerations.is_empty())
                        .then(|| overrides.tolerations.clone()),
                    affinity: overrides.affinity.clone(),
                    priority_class_name: overrides.priority_class_name.clone(),
                    security_context: Some(pod_security_context()),
                    volumes: Some(super::redis_tls::volumes(inputs)),
                    containers: vec![Container {
                        name: COMPONENT.into(),
                        image: Some(spec.image.clone()),
                        image_pull_policy: spec.image_pull_policy.map(|p| p.as_str().to_owned()),
                        command: Some(vec!["roomshard-worker".into()]),
                        env: Some(worker_env(inputs)),
                        resources: inputs.resources(spec.resources.as_ref()),
                        volume_mounts: Some(super::redis_tls::mounts(inputs)),
                        ..served_container("socketio", port, Some(OPS_PORT))
                    }],
                    ..PodSpec::default()
                }),
            },
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

/// The workers' PodDisruptionBudget: at most one worker pod voluntarily unavailable.
pub fn worker_pdb(inputs: &Inputs<'_>) -> PodDisruptionBudget {
    let name = &inputs.valid.name;
    PodDisruptionBudget {
        metadata: inputs.meta(names::pdb(name), COMPONENT),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

fn worker_env(inputs: &Inputs<'_>) -> Vec<EnvVar> {
    let spec = &inputs.set.spec;
    let capacity = spec.capacity();
    let mut env = vec![
        field_env(
            "ROOM_SHARD_INDEX",
            &format!("metadata.labels['{POD_INDEX_LABEL}']"),
        ),
        shard_total_env(&inputs.valid.name),
        value_env(
            "ROOM_SHARD",
            "$(ROOM_SHARD_INDEX)/$(ROOM_SHARD_TOTAL)".into(),
        ),
        field_env("POD_NAME", "metadata.name"),
        value_env("ROOMSHARD_SET", inputs.valid.name.clone()),
        value_env("ROOMSHARD_NAMESPACE", inputs.valid.namespace.clone()),
        value_env("PORT", spec.port().to_string()),
        value_env("OPS_PORT", OPS_PORT.to_string()),
        value_env("PUBLIC_URL", inputs.valid.public_url.clone()),
        value_env(
            "HEARTBEAT_INTERVAL_MS",
            spec.heartbeat_interval_ms().to_string(),
        ),
        value_env("ROOM_CAPACITY", capacity.players_per_room.to_string()),
        value_env("ROOMS_PER_SHARD", capacity.rooms_per_shard.to_string()),
        value_env(
            "DRAIN_TIMEOUT_MS",
            spec.drain_timeout_seconds()
                .saturating_mul(1000)
                .to_string(),
        ),
        redis_env(inputs),
        token_secret_env(&inputs.valid.name),
    ];
    // Unset fields leave the worker's own defaults.
    let resume = spec.resume.unwrap_or_default();
    if let Some(w) = resume.window_seconds {
        env.push(value_env(
            "RESUME_WINDOW_MS",
            (i64::from(w) * 1000).to_string(),
        ));
    }
    if let Some(b) = resume.buffer_events {
        env.push(value_env("RESUME_BUFFER_EVENTS", b.to_string()));
    }
    let edge = spec.edge.clone().unwrap_or_default();
    for (name, v) in [
        ("MAX_CONNECTIONS", edge.max_connections.map(i64::from)),
        (
            "MAX_CONNECTIONS_PER_IP",
            edge.max_connections_per_ip.map(i64::from),
        ),
        (
            "JOIN_TIMEOUT_MS",
            edge.join_timeout_seconds.map(|s| i64::from(s) * 1000),
        ),
    ] {
        if let Some(v) = v {
            env.push(value_env(name, v.to_string()));
        }
    }
    if !edge.allowed_origins.is_empty() {
        env.push(value_env("ALLOWED_ORIGINS", edge.allowed_origins.join(",")));
    }
    env.extend(super::redis_tls::env(inputs));
    env.extend(super::game::env(inputs));
    if let Some(auth) = inputs.matchmaker_auth().filter(|a| a.mode.contains("jwt")) {
        env.extend(super::matchmaker::jwt_env(auth));
    }
    env
}

fn shard_total_env(set: &str) -> EnvVar {
    EnvVar {
        name: "ROOM_SHARD_TOTAL".into(),
        value: None,
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: names::shard_count(set),
                key: super::shard_count::TOTAL_KEY.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// REDIS_URL, always through a `secretKeyRef` ([`super::secret::redis_env`]).
pub(super) fn redis_env(inputs: &Inputs<'_>) -> EnvVar {
    super::secret::redis_env(&inputs.valid.name, &inputs.valid.redis)
}

pub(super) fn token_secret_env(set: &str) -> EnvVar {
    secret_env(
        "ROOMSHARD_TOKEN_SECRET",
        &names::token_secret(set),
        TOKEN_SECRET_KEY,
    )
}

/// The replica count the StatefulSet currently asks for, if it exists.
pub fn current_replicas(sts: Option<&StatefulSet>) -> Option<i32> {
    sts.and_then(|s| s.spec.as_ref()).and_then(|s| s.replicas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::{assert_redis_from_owned_secret, env, names, owned_json, with};
    use serde_json::json;

    #[test]
    fn statefulset_runs_one_shard_per_pod() {
        let sts = owned_json(
            json!({"shards": 4, "image": "reg/roomshard:1", "imagePullPolicy": "IfNotPresent",
                   "publicUrl": "wss://play.example.com/shard/{shard}", "heartbeatIntervalSeconds": 3,
                   "capacity": {"roomsPerShard": 10, "playersPerRoom": 8},
                   "podTemplate": {"labels": {"team": "a", "roomshard.dev/set": "evil"},
                                   "nodeSelector": {"pool": "game"}, "priorityClassName": "high"}}),
            |i| worker_statefulset(i, 4),
        );
        assert_eq!(sts["metadata"]["name"], "game");
        let spec = &sts["spec"];
        assert_eq!(spec["replicas"], 4);
        assert_eq!(spec["podManagementPolicy"], "Parallel");
        assert_eq!(spec["serviceName"], "game-headless");
        assert_eq!(
            spec["selector"]["matchLabels"],
            json!({"app.kubernetes.io/component": "worker", "roomshard.dev/set": "game"})
        );
        let pod = &spec["template"];
        assert_eq!(pod["metadata"]["labels"]["team"], "a");
        assert_eq!(pod["metadata"]["labels"]["roomshard.dev/set"], "game");
        assert_eq!(pod["spec"]["nodeSelector"]["pool"], "game");
        assert_eq!(pod["spec"]["priorityClassName"], "high");
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["image"], "reg/roomshard:1");
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["command"], json!(["roomshard-worker"]));
        assert_eq!(
            env(c, "ROOM_SHARD_INDEX")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.labels['apps.kubernetes.io/pod-index']"
        );
        assert_eq!(
            env(c, "POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        assert_eq!(
            env(c, "ROOM_SHARD_TOTAL")["valueFrom"]["configMapKeyRef"],
            json!({"name": "game-shards", "key": "total", "optional": false})
        );
        assert_eq!(
            env(c, "ROOMSHARD_TOKEN_SECRET")["valueFrom"]["secretKeyRef"],
            json!({"name": "game-token", "key": "token-secret", "optional": false})
        );
        // The operator's default URL reaches the pods through the set's own Secret.
        assert_redis_from_owned_secret(c);
        for (name, value) in [
            ("ROOM_SHARD", "$(ROOM_SHARD_INDEX)/$(ROOM_SHARD_TOTAL)"),
            ("ROOMSHARD_SET", "game"),
            ("PORT", "3000"),
            ("PUBLIC_URL", "wss://play.example.com/shard/{shard}"),
            ("HEARTBEAT_INTERVAL_MS", "3000"),
            ("ROOM_CAPACITY", "8"),
            ("ROOMS_PER_SHARD", "10"),
        ] {
            assert_eq!(env(c, name)["value"], value, "{name}");
        }
        // ROOM_SHARD refers to ROOM_SHARD_INDEX, so that must come first.
        let order = names(&c["env"]);
        let pos = |n: &str| order.iter().position(|x| *x == n).expect("present");
        assert!(pos("ROOM_SHARD_INDEX") < pos("ROOM_SHARD"));
        assert!(pos("ROOM_SHARD_TOTAL") < pos("ROOM_SHARD"));
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(
            c["readinessProbe"]["httpGet"]["port"], 9090,
            "probed on the ops port"
        );
        assert_eq!(
            c["ports"],
            json!([{"name": "socketio", "containerPort": 3000, "protocol": "TCP"},
                   {"name": "ops", "containerPort": 9090, "protocol": "TCP"}])
        );
        assert_eq!(env(c, "OPS_PORT")["value"], "9090");
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        // No resume settings: the worker's own defaults.
        assert!(!order.contains(&"RESUME_WINDOW_MS"));
    }

    #[test]
    fn the_resume_window_reaches_the_workers() {
        let sts = owned_json(
            json!({"shards": 1, "image": "reg/roomshard:1",
                   "resume": {"windowSeconds": 90, "bufferEvents": 0}}),
            |i| worker_statefulset(i, 1),
        );
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(env(c, "RESUME_WINDOW_MS")["value"], "90000");
        assert_eq!(env(c, "RESUME_BUFFER_EVENTS")["value"], "0");
    }

    #[test]
    fn the_edge_limits_reach_the_workers() {
        let sts = owned_json(
            json!({"shards": 1, "image": "reg/roomshard:1",
                   "edge": {"maxConnections": 5000, "maxConnectionsPerIp": 0,
                            "joinTimeoutSeconds": 10,
                            "allowedOrigins": ["https://a.example", "https://b.example"]}}),
            |i| worker_statefulset(i, 1),
        );
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(env(c, "MAX_CONNECTIONS")["value"], "5000");
        assert_eq!(env(c, "MAX_CONNECTIONS_PER_IP")["value"], "0");
        assert_eq!(env(c, "JOIN_TIMEOUT_MS")["value"], "10000");
        assert_eq!(
            env(c, "ALLOWED_ORIGINS")["value"],
            "https://a.example,https://b.example"
        );
    }

    #[test]
    fn scaling_leaves_the_pod_template_unchanged() {
        let template = |replicas| {
            with(json!({"shards": 3, "image": "i"}), |i| {
                serde_json::to_value(worker_statefulset(i, replicas)).expect("json")
            })["spec"]["template"]
                .clone()
        };
        assert_eq!(template(3), template(5));
    }

    #[test]
    fn redis_from_secret_and_replicas_during_drain() {
        let sts = with(
            json!({"shards": 2, "image": "i", "redis": {"secretRef": {"name": "redis", "key": "url"}}}),
            |i| serde_json::to_value(worker_statefulset(i, 4)).expect("json"),
        );
        // While shards 2 and 3 drain, all four pods keep running.
        assert_eq!(sts["spec"]["replicas"], 4);
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            env(c, "REDIS_URL")["valueFrom"]["secretKeyRef"],
            json!({"name": "redis", "key": "url", "optional": false})
        );
        assert_eq!(env(c, "PUBLIC_URL")["value"], "{origin}/shard/{shard}");
    }

    #[test]
    fn the_drain_timeout_reaches_the_worker_and_the_kubelet() {
        let pod = |spec| {
            let sts = with(spec, |i| {
                serde_json::to_value(worker_statefulset(i, 1)).expect("json")
            });
            sts["spec"]["template"]["spec"].clone()
        };
        let p = pod(json!({"shards": 1, "image": "i", "drain": {"timeoutSeconds": 20}}));
        assert_eq!(
            env(&p["containers"][0], "DRAIN_TIMEOUT_MS")["value"],
            "20000"
        );
        assert_eq!(p["terminationGracePeriodSeconds"], 35);
        let p = pod(json!({"shards": 1, "image": "i"}));
        assert_eq!(
            env(&p["containers"][0], "DRAIN_TIMEOUT_MS")["value"],
            "300000"
        );
        assert_eq!(p["terminationGracePeriodSeconds"], 315);
    }

    #[test]
    fn pdb_allows_one_shard_down() {
        let pdb = owned_json(json!({"shards": 3, "image": "i"}), worker_pdb);
        assert_eq!(pdb["metadata"]["name"], "game");
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"],
            json!({"app.kubernetes.io/component": "worker", "roomshard.dev/set": "game"})
        );
    }
}
