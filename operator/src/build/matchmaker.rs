//! The matchmaker Deployment: stateless replicas that hand out seats.

use super::container::{pod_security_context, served_container};
use super::env::{field_env, secret_env, value_env};
use super::statefulset::{redis_env, token_secret_env};
use super::{Inputs, MATCHMAKER_PORT, OPS_PORT, names, selector_labels};
use crate::crd::{MatchmakerAuthSpec, SecretKeyRef};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use roomshard_protocol::DEFAULT_RESERVATION_TTL_MS;

pub const COMPONENT: &str = "matchmaker";

pub fn matchmaker_deployment(inputs: &Inputs<'_>) -> Deployment {
    let name = &inputs.valid.name;
    let spec = &inputs.set.spec;
    let mm = spec.matchmaker.clone().unwrap_or_default();
    let capacity = spec.capacity();
    let ttl = mm
        .reservation_ttl_ms
        .unwrap_or(i64::try_from(DEFAULT_RESERVATION_TTL_MS).unwrap_or(30_000));
    let mut env = vec![
        value_env("PORT", MATCHMAKER_PORT.to_string()),
        value_env("OPS_PORT", OPS_PORT.to_string()),
        redis_env(inputs),
        value_env("ROOMSHARD_SET", name.clone()),
        value_env("ROOMSHARD_NAMESPACE", inputs.valid.namespace.clone()),
        token_secret_env(name),
        value_env("PUBLIC_URL", inputs.valid.public_url.clone()),
        value_env("WORKER_BASE_PORT", spec.port().to_string()),
        value_env("RESERVATION_TTL_MS", ttl.to_string()),
        value_env(
            "HEARTBEAT_INTERVAL_MS",
            spec.heartbeat_interval_ms().to_string(),
        ),
        value_env("ROOM_CAPACITY", capacity.players_per_room.to_string()),
        value_env("ROOMS_PER_SHARD", capacity.rooms_per_shard.to_string()),
        field_env("POD_NAME", "metadata.name"),
    ];
    if let Some(auth) = inputs.matchmaker_auth() {
        env.extend(auth_env(auth));
    }
    env.extend(super::redis_tls::env(inputs));
    Deployment {
        metadata: inputs.meta(names::matchmaker(name), COMPONENT),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.matchmaker_replicas()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(name, COMPONENT)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(super::labels(name, COMPONENT)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    security_context: Some(pod_security_context()),
                    volumes: Some(super::redis_tls::volumes(inputs)),
                    containers: vec![Container {
                        name: COMPONENT.into(),
                        image: Some(spec.matchmaker_image().to_owned()),
                        image_pull_policy: spec.image_pull_policy.map(|p| p.as_str().to_owned()),
                        command: Some(vec!["roomshard-matchmaker".into()]),
                        env: Some(env),
                        resources: inputs.resources(mm.resources.as_ref()),
                        volume_mounts: Some(super::redis_tls::mounts(inputs)),
                        ..served_container("http", MATCHMAKER_PORT, Some(OPS_PORT))
                    }],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

/// AUTH_* of `spec.matchmaker.auth`: plain values for what is public, `secretKeyRef` for
/// the HS256 secret and the API keys.
fn auth_env(auth: &MatchmakerAuthSpec) -> Vec<EnvVar> {
    let mut env = vec![value_env("AUTH_MODE", auth.mode.clone())];
    env.extend(jwt_env(auth));
    if let Some(r) = &auth.api_keys {
        env.push(secret_ref_env("AUTH_API_KEYS", r));
    }
    env
}

/// The bearer JWT keys and claims of `spec.matchmaker.auth`, which the workers get too:
/// they check that a seat reserved by a JWT is taken by a join presenting the same `sub`.
pub(super) fn jwt_env(auth: &MatchmakerAuthSpec) -> Vec<EnvVar> {
    let mut env = Vec::new();
    let plain = [
        ("AUTH_JWT_ISSUER", &auth.issuer),
        ("AUTH_JWT_AUDIENCE", &auth.audience),
        ("AUTH_JWKS_URL", &auth.jwks_url),
    ];
    for (name, value) in plain {
        if let Some(v) = value {
            env.push(value_env(name, v.clone()));
        }
    }
    if let Some(l) = auth.leeway_seconds {
        env.push(value_env("AUTH_JWT_LEEWAY_SECONDS", l.to_string()));
    }
    if let Some(r) = &auth.hs256_secret {
        env.push(secret_ref_env("AUTH_JWT_HS256_SECRET", r));
    }
    env
}

fn secret_ref_env(name: &str, r: &SecretKeyRef) -> EnvVar {
    secret_env(name, &r.name, &r.key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::{assert_redis_from_owned_secret, env, owned_json, with};
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use serde_json::json;

    #[test]
    fn matchmaker_defaults_to_the_worker_image() {
        let d = owned_json(
            json!({"shards": 3, "image": "reg/roomshard:2", "publicUrl": "wss://p/{shard}"}),
            matchmaker_deployment,
        );
        assert_eq!(d["metadata"]["name"], "game-matchmaker");
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            json!({"app.kubernetes.io/component": "matchmaker", "roomshard.dev/set": "game"})
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "reg/roomshard:2");
        assert_eq!(c["command"], json!(["roomshard-matchmaker"]));
        // The operator's default URL reaches the pods through the set's own Secret.
        assert_redis_from_owned_secret(c);
        assert_eq!(env(c, "ROOMSHARD_SET")["value"], "game");
        assert_eq!(
            env(c, "ROOMSHARD_TOKEN_SECRET")["valueFrom"]["secretKeyRef"]["name"],
            "game-token"
        );
        assert_eq!(env(c, "PUBLIC_URL")["value"], "wss://p/{shard}");
        assert_eq!(env(c, "RESERVATION_TTL_MS")["value"], "30000");
        assert_eq!(env(c, "HEARTBEAT_INTERVAL_MS")["value"], "2000");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(
            c["readinessProbe"]["httpGet"]["port"], 9090,
            "probed on the ops port"
        );
        assert_eq!(env(c, "OPS_PORT")["value"], "9090");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    }

    #[test]
    fn matchmaker_follows_its_spec() {
        let d = with(
            json!({"shards": 3, "image": "w", "matchmaker": {"replicas": 5, "image": "mm:1",
                   "reservationTtlMs": 5000, "resources": {"limits": {"cpu": "1"}}}}),
            |i| serde_json::to_value(matchmaker_deployment(i)).expect("json"),
        );
        assert_eq!(d["spec"]["replicas"], 5);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "mm:1");
        assert_eq!(c["resources"]["limits"]["cpu"], "1");
        assert_eq!(env(c, "RESERVATION_TTL_MS")["value"], "5000");
    }

    #[test]
    fn auth_reaches_the_matchmaker_with_secrets_by_reference() {
        let d = with(
            json!({"shards": 1, "image": "w", "matchmaker": {"auth": {
                "mode": "jwt,api-key", "issuer": "https://id.example", "audience": "game",
                "jwksUrl": "https://id.example/jwks.json", "leewaySeconds": 10,
                "hs256Secret": {"name": "mm-auth", "key": "hs256"},
                "apiKeys": {"name": "mm-auth", "key": "api-keys"}}}}),
            |i| serde_json::to_value(matchmaker_deployment(i)).expect("json"),
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(env(c, "AUTH_MODE")["value"], "jwt,api-key");
        assert_eq!(env(c, "AUTH_JWT_ISSUER")["value"], "https://id.example");
        assert_eq!(env(c, "AUTH_JWT_AUDIENCE")["value"], "game");
        assert_eq!(
            env(c, "AUTH_JWKS_URL")["value"],
            "https://id.example/jwks.json"
        );
        assert_eq!(env(c, "AUTH_JWT_LEEWAY_SECONDS")["value"], "10");
        for (var, key) in [
            ("AUTH_JWT_HS256_SECRET", "hs256"),
            ("AUTH_API_KEYS", "api-keys"),
        ] {
            let e = env(c, var);
            assert!(e.get("value").is_none_or(|v| v.is_null()), "{var}: {e}");
            assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], "mm-auth", "{var}");
            assert_eq!(e["valueFrom"]["secretKeyRef"]["key"], key, "{var}");
        }
    }

    #[test]
    fn containers_without_resources_get_the_operator_default() {
        let default: ResourceRequirements = serde_json::from_value(json!({
            "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}))
        .expect("resources");
        let build = |spec: serde_json::Value| {
            let s = crate::build::fixture::set(spec);
            let v = crate::build::fixture::valid(&s);
            let defaults = crate::build::Defaults {
                resources: Some(default.clone()),
                matchmaker_auth: None,
                hooks: None,
            };
            let inputs = Inputs {
                set: &s,
                valid: &v,
                owner: crate::build::fixture::owner(),
                defaults: &defaults,
            };
            let sts = crate::build::statefulset::worker_statefulset(&inputs, 1);
            let mm = matchmaker_deployment(&inputs);
            let first = |v: serde_json::Value, path: &str| {
                v.pointer(path).cloned().unwrap_or(serde_json::Value::Null)
            };
            let path = "/spec/template/spec/containers/0/resources";
            (
                first(serde_json::to_value(sts).expect("json"), path),
                first(serde_json::to_value(mm).expect("json"), path),
            )
        };
        let (worker, matchmaker) = build(json!({"shards": 1, "image": "w"}));
        assert_eq!(worker["requests"]["cpu"], "100m");
        assert_eq!(matchmaker["limits"]["memory"], "512Mi");
        let (worker, matchmaker) = build(json!({"shards": 1, "image": "w",
            "resources": {"limits": {"cpu": "2"}},
            "matchmaker": {"resources": {"limits": {"cpu": "1"}}}}));
        assert_eq!(
            worker,
            json!({"limits": {"cpu": "2"}}),
            "the spec wins whole"
        );
        assert_eq!(matchmaker, json!({"limits": {"cpu": "1"}}));
    }

    #[test]
    fn a_set_without_auth_gets_the_operator_default_and_its_own_wins() {
        let defaults = crate::build::Defaults {
            resources: None,
            matchmaker_auth: serde_json::from_value(json!({"mode": "jwt",
                "hs256Secret": {"name": "studio-auth", "key": "hs256"}}))
            .expect("auth"),
            hooks: None,
        };
        let mode = |spec: serde_json::Value| {
            let s = crate::build::fixture::set(spec);
            let v = crate::build::fixture::valid(&s);
            let inputs = Inputs {
                set: &s,
                valid: &v,
                owner: crate::build::fixture::owner(),
                defaults: &defaults,
            };
            let d = serde_json::to_value(matchmaker_deployment(&inputs)).expect("json");
            let c = &d["spec"]["template"]["spec"]["containers"][0];
            env(c, "AUTH_MODE")["value"].clone()
        };
        assert_eq!(mode(json!({"shards": 1, "image": "w"})), "jwt");
        let own = json!({"shards": 1, "image": "w", "matchmaker": {"auth": {"mode": "none"}}});
        assert_eq!(mode(own), "none");
    }

    #[test]
    fn workers_get_the_jwt_keys_and_nothing_else_of_auth() {
        let sts = with(
            json!({"shards": 1, "image": "w", "matchmaker": {"auth": {
                "mode": "jwt,api-key", "issuer": "https://id.example",
                "hs256Secret": {"name": "mm-auth", "key": "hs256"},
                "apiKeys": {"name": "mm-auth", "key": "api-keys"}}}}),
            |i| {
                serde_json::to_value(crate::build::statefulset::worker_statefulset(i, 1))
                    .expect("json")
            },
        );
        let c = &sts["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(env(c, "AUTH_JWT_ISSUER")["value"], "https://id.example");
        let e = env(c, "AUTH_JWT_HS256_SECRET");
        assert_eq!(e["valueFrom"]["secretKeyRef"]["key"], "hs256");
        let names: Vec<_> = c["env"]
            .as_array()
            .expect("env")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(!names.contains(&"AUTH_API_KEYS"), "{names:?}");
        assert!(!names.contains(&"AUTH_MODE"), "{names:?}");
    }

    #[test]
    fn without_auth_the_matchmaker_gets_no_mode() {
        let d = owned_json(json!({"shards": 1, "image": "w"}), matchmaker_deployment);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        let names: Vec<&str> = c["env"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(!names.iter().any(|n| n.starts_with("AUTH_")), "{names:?}");
    }
}
