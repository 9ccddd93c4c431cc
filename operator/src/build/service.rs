//! The worker Services: headless (stable pod DNS), client-facing, and one per shard.

use super::{Inputs, MATCHMAKER_PORT, POD_NAME_LABEL, names, selector_labels, statefulset};
use crate::crd::{ServiceType, SessionAffinity};
use k8s_openapi::api::core::v1::{
    ClientIPConfig, Service, ServicePort, ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}

/// The headless Service the StatefulSet names: `{set}-{i}.{set}-headless` resolves to pod i.
pub fn headless_service(inputs: &Inputs<'_>) -> Service {
    let name = &inputs.valid.name;
    Service {
        metadata: inputs.meta(names::headless_service(name), statefulset::COMPONENT),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            // Peers find each other before they are ready.
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(name, statefulset::COMPONENT)),
            ports: Some(vec![port("socketio", inputs.set.spec.port())]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The client-facing Service of all workers (type, annotations, affinity from the spec).
pub fn client_service(inputs: &Inputs<'_>) -> Service {
    let name = &inputs.valid.name;
    let svc = inputs.set.spec.service.clone().unwrap_or_default();
    let type_ = svc.type_.unwrap_or(ServiceType::LoadBalancer);
    let affinity = svc.session_affinity.unwrap_or(SessionAffinity::ClientIP);
    let mut metadata = inputs.meta(names::client_service(name), statefulset::COMPONENT);
    metadata.annotations = (!svc.annotations.is_empty()).then(|| svc.annotations.clone());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(type_.as_str().into()),
            selector: Some(selector_labels(name, statefulset::COMPONENT)),
            ports: Some(vec![port("socketio", inputs.set.spec.port())]),
            session_affinity: Some(affinity.as_str().into()),
            session_affinity_config: match (affinity, svc.session_affinity_timeout_seconds) {
                (SessionAffinity::ClientIP, Some(timeout)) => Some(SessionAffinityConfig {
                    client_ip: Some(ClientIPConfig {
                        timeout_seconds: Some(timeout),
                    }),
                }),
                _ => None,
            },
            load_balancer_source_ranges: (type_ == ServiceType::LoadBalancer
                && !svc.load_balancer_source_ranges.is_empty())
            .then(|| svc.load_balancer_source_ranges.clone()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The ClusterIP Service of shard `index`, selecting exactly its pod, so a proxy can
/// route `/shard/{i}/…` to `{set}-shard-{i}`. It routes to the pod whether or not it is
/// Ready: the matchmaker places seats by the shard's heartbeat, which a worker writes once
/// it listens, before its readiness probe passes and the endpoints follow; and a draining
/// worker (not Ready) still serves the players it has, their long-polling requests and
/// their resumes.
pub fn shard_service(inputs: &Inputs<'_>, index: u32) -> Service {
    let name = &inputs.valid.name;
    let mut metadata = inputs.meta(names::shard_service(name, index), statefulset::COMPONENT);
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert("roomshard.dev/shard".into(), index.to_string());
    let mut selector = selector_labels(name, statefulset::COMPONENT);
    selector.insert(POD_NAME_LABEL.into(), names::pod(name, index));
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            publish_not_ready_addresses: Some(true),
            ports: Some(vec![port("socketio", inputs.set.spec.port())]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The matchmaker's ClusterIP Service.
pub fn matchmaker_service(inputs: &Inputs<'_>) -> Service {
    let name = &inputs.valid.name;
    Service {
        metadata: inputs.meta(names::matchmaker(name), super::matchmaker::COMPONENT),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(name, super::matchmaker::COMPONENT)),
            ports: Some(vec![port("http", MATCHMAKER_PORT)]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// Parses the shard index out of a per-shard Service name of `set`.
pub fn shard_service_index(set: &str, service_name: &str) -> Option<u32> {
    service_name
        .strip_prefix(set)?
        .strip_prefix("-shard-")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::{owned_json, with};
    use serde_json::json;

    #[test]
    fn headless_service_selects_workers_without_cluster_ip() {
        let svc = owned_json(json!({"shards": 2, "image": "i"}), headless_service);
        assert_eq!(svc["metadata"]["name"], "game-headless");
        assert_eq!(svc["spec"]["clusterIP"], "None");
        assert_eq!(
            svc["spec"]["selector"]["app.kubernetes.io/component"],
            "worker"
        );
        assert_eq!(svc["spec"]["ports"][0]["port"], 3000);
    }

    #[test]
    fn client_service_defaults_to_load_balancer_with_client_ip_affinity() {
        let svc = owned_json(json!({"shards": 2, "image": "i"}), client_service);
        assert_eq!(svc["metadata"]["name"], "game");
        assert_eq!(svc["spec"]["type"], "LoadBalancer");
        assert_eq!(svc["spec"]["sessionAffinity"], "ClientIP");
        assert!(svc["metadata"].get("annotations").is_none());
    }

    #[test]
    fn client_service_follows_the_spec() {
        let svc = with(
            json!({"shards": 2, "image": "i", "port": 4000, "service": {
                "type": "LoadBalancer", "sessionAffinityTimeoutSeconds": 600,
                "annotations": {"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "tcp"},
                "loadBalancerSourceRanges": ["10.0.0.0/8"]}}),
            |i| serde_json::to_value(client_service(i)).expect("json"),
        );
        assert_eq!(
            svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-backend-protocol"],
            "tcp"
        );
        assert_eq!(
            svc["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            600
        );
        assert_eq!(
            svc["spec"]["loadBalancerSourceRanges"],
            json!(["10.0.0.0/8"])
        );
        assert_eq!(svc["spec"]["ports"][0]["port"], 4000);
        let svc = with(
            json!({"shards": 2, "image": "i", "service": {"type": "ClusterIP", "sessionAffinity": "None"}}),
            |i| serde_json::to_value(client_service(i)).expect("json"),
        );
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(svc["spec"]["sessionAffinity"], "None");
        assert!(svc["spec"].get("sessionAffinityConfig").is_none());
    }

    #[test]
    fn shard_service_selects_one_pod() {
        let svc = owned_json(json!({"shards": 4, "image": "i"}), |i| shard_service(i, 3));
        assert_eq!(svc["metadata"]["name"], "game-shard-3");
        assert_eq!(svc["spec"]["type"], "ClusterIP");
        assert_eq!(
            svc["spec"]["selector"]["statefulset.kubernetes.io/pod-name"],
            "game-3"
        );
        assert_eq!(
            svc["spec"]["publishNotReadyAddresses"], true,
            "a draining or just started shard is still routed"
        );
        assert_eq!(shard_service_index("game", "game-shard-3"), Some(3));
        assert_eq!(shard_service_index("game", "game-shard-x"), None);
        assert_eq!(shard_service_index("game", "other-shard-1"), None);
    }

    #[test]
    fn matchmaker_service_selects_matchmakers() {
        let svc = owned_json(json!({"shards": 1, "image": "i"}), matchmaker_service);
        assert_eq!(svc["metadata"]["name"], "game-matchmaker");
        assert_eq!(
            svc["spec"]["selector"]["app.kubernetes.io/component"],
            "matchmaker"
        );
        assert_eq!(svc["spec"]["ports"][0]["port"], 8080);
    }
}
