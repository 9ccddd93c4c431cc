//! The set's Ingress: the way in from outside, routed by shard id. `/shard/{i}` goes to
//! shard i's own Service (the worker serves Socket.IO under that prefix as well as at the
//! root), `/reserve` and `/rooms` to the matchmaker. Plain Prefix rules with no rewrite, so
//! any ingress controller serves them.

use super::{Inputs, MATCHMAKER_PORT, names};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

pub const COMPONENT: &str = "ingress";

/// The Ingress for shards `0..keep`, or `None` when `spec.ingress.enabled` is false.
pub fn ingress(inputs: &Inputs<'_>, keep: u32) -> Option<Ingress> {
    let spec = inputs.set.spec.ingress()?;
    let name = &inputs.valid.name;
    let route = |path: String, service: String, port: i32| HTTPIngressPath {
        path: Some(path),
        path_type: "Prefix".into(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service,
                port: Some(ServiceBackendPort {
                    number: Some(port),
                    name: None,
                }),
            }),
            resource: None,
        },
    };
    let worker_port = inputs.set.spec.port();
    let mut paths: Vec<HTTPIngressPath> = (0..keep)
        .map(|i| {
            route(
                format!("/shard/{i}"),
                names::shard_service(name, i),
                worker_port,
            )
        })
        .collect();
    for path in ["/reserve", "/rooms"] {
        paths.push(route(path.into(), names::matchmaker(name), MATCHMAKER_PORT));
    }
    let mut metadata = inputs.meta(names::ingress(name), COMPONENT);
    if !spec.annotations.is_empty() {
        metadata.annotations = Some(spec.annotations.clone());
    }
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            rules: Some(vec![IngressRule {
                host: spec.host.clone(),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            tls: spec.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: spec.host.clone().map(|h| vec![h]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            default_backend: None,
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture;
    use serde_json::json;

    fn built(spec: serde_json::Value, keep: u32) -> Option<serde_json::Value> {
        fixture::with(spec, |inputs| {
            ingress(inputs, keep).map(|i| serde_json::to_value(i).expect("json"))
        })
    }

    #[test]
    fn routes_each_kept_shard_and_the_matchmaker() {
        let ing =
            built(json!({"shards": 3, "image": "i", "port": 4000}), 2).expect("on by default");
        assert_eq!(ing["metadata"]["name"], "game");
        let rule = &ing["spec"]["rules"][0];
        assert!(rule.get("host").is_none(), "every host");
        let paths: Vec<(String, String, i64)> = rule["http"]["paths"]
            .as_array()
            .expect("paths")
            .iter()
            .map(|p| {
                assert_eq!(p["pathType"], "Prefix");
                let svc = &p["backend"]["service"];
                (
                    p["path"].as_str().unwrap_or_default().to_owned(),
                    svc["name"].as_str().unwrap_or_default().to_owned(),
                    svc["port"]["number"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            paths,
            [
                ("/shard/0".into(), "game-shard-0".into(), 4000),
                ("/shard/1".into(), "game-shard-1".into(), 4000),
                ("/reserve".into(), "game-matchmaker".into(), 8080),
                ("/rooms".into(), "game-matchmaker".into(), 8080),
            ]
        );
        assert!(ing["spec"].get("tls").is_none());
        assert!(
            ing["spec"].get("ingressClassName").is_none(),
            "the default class"
        );
    }

    #[test]
    fn host_class_tls_and_annotations_come_from_the_spec() {
        let ing = built(
            json!({"shards": 1, "image": "i", "ingress": {
                "host": "play.example.com", "className": "nginx", "tlsSecretName": "play-tls",
                "annotations": {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}}}),
            1,
        )
        .expect("enabled");
        assert_eq!(ing["spec"]["rules"][0]["host"], "play.example.com");
        assert_eq!(ing["spec"]["ingressClassName"], "nginx");
        assert_eq!(
            ing["spec"]["tls"],
            json!([{"hosts": ["play.example.com"], "secretName": "play-tls"}])
        );
        assert_eq!(
            ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"],
            "3600"
        );
    }

    #[test]
    fn disabled_means_none() {
        assert!(
            built(
                json!({"shards": 1, "image": "i", "ingress": {"enabled": false}}),
                1
            )
            .is_none()
        );
    }
}
