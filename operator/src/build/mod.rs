//! Pure builders: a validated RoomShardSet in, the Kubernetes objects it owns out.
//!
//! No client is used here; [`crate::apply`] writes what these functions return. Every
//! child has a deterministic name, the set's labels and a controller owner reference.

pub mod canary;
pub mod children;
pub mod container;
pub mod env;
pub mod game;
pub mod ingress;
pub mod matchmaker;
pub mod redis_tls;
pub mod secret;
pub mod service;
pub mod shard_count;
pub mod spec_defaults;
pub mod statefulset;

use crate::crd::{MatchmakerAuthSpec, RoomShardSet};
use crate::validate::ValidSet;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::BTreeMap;

/// Field manager of every server-side apply the operator makes.
pub const MANAGER: &str = "roomshard-operator";

/// Label naming the set a child belongs to.
pub const SET_LABEL: &str = "roomshard.dev/set";
/// Label naming the part of the set (worker, matchmaker).
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// Label Kubernetes (1.28+) puts on every StatefulSet pod: its ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Label the StatefulSet controller puts on each pod: its name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// Key of the token secret inside its Secret.
pub const TOKEN_SECRET_KEY: &str = "token-secret";

/// Port of the matchmaker's HTTP API.
pub const MATCHMAKER_PORT: i32 = 8080;
pub use crate::crd::OPS_PORT;

/// What the operator gives a set whose spec leaves a part out (DEFAULT_RESOURCES,
/// DEFAULT_MATCHMAKER_AUTH, DEFAULT_HOOKS).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Of every worker and matchmaker container without resources of its own.
    pub resources: Option<ResourceRequirements>,
    /// Of every matchmaker without `spec.matchmaker.auth`.
    pub matchmaker_auth: Option<MatchmakerAuthSpec>,
    /// Of every set without `spec.hooks` ([`spec_defaults`]).
    pub hooks: Option<crate::crd::HooksSpec>,
}

/// What every builder needs: the set, its validated form, the owner reference, and the
/// operator's defaults.
pub struct Inputs<'a> {
    pub set: &'a RoomShardSet,
    pub valid: &'a ValidSet,
    pub owner: OwnerReference,
    pub defaults: &'a Defaults,
}

impl Inputs<'_> {
    /// `given` when the spec sets it, else the operator's default.
    pub fn resources(&self, given: Option<&ResourceRequirements>) -> Option<ResourceRequirements> {
        given.or(self.defaults.resources.as_ref()).cloned()
    }

    /// The matchmaker's caller authentication: the spec's, else the operator's default.
    pub fn matchmaker_auth(&self) -> Option<&MatchmakerAuthSpec> {
        let spec = self.set.spec.matchmaker.as_ref();
        spec.and_then(|m| m.auth.as_ref())
            .or(self.defaults.matchmaker_auth.as_ref())
    }
}

/// Deterministic child names of set `name`.
pub mod names {
    /// The worker StatefulSet; pod i is `{name}-i`.
    pub fn statefulset(set: &str) -> String {
        set.to_owned()
    }
    /// The headless Service that gives each worker pod a stable DNS name.
    pub fn headless_service(set: &str) -> String {
        format!("{set}-headless")
    }
    /// The client-facing Service.
    pub fn client_service(set: &str) -> String {
        set.to_owned()
    }
    /// The ClusterIP Service of shard `index`.
    pub fn shard_service(set: &str, index: u32) -> String {
        format!("{set}-shard-{index}")
    }
    /// Pod of shard `index`.
    pub fn pod(set: &str, index: u32) -> String {
        format!("{set}-{index}")
    }
    /// The canary pod of worker revision `revision` (the StatefulSet's
    /// `controller-revision-hash`, `{set}-{hash}`).
    pub fn canary(set: &str, revision: &str) -> String {
        let hash = revision.rsplit('-').next().unwrap_or(revision);
        format!("{set}-canary-{hash}")
    }
    pub fn pdb(set: &str) -> String {
        set.to_owned()
    }
    /// The Ingress that routes by shard id.
    pub fn ingress(set: &str) -> String {
        set.to_owned()
    }
    pub fn matchmaker(set: &str) -> String {
        format!("{set}-matchmaker")
    }
    /// The ConfigMap holding the shard total the workers read at start.
    pub fn shard_count(set: &str) -> String {
        format!("{set}-shards")
    }
    /// The Secret holding the token HMAC key.
    pub fn token_secret(set: &str) -> String {
        format!("{set}-token")
    }
    /// The Secret holding the set's Redis URL when the URL is not already in a Secret;
    /// `fingerprint` tells one URL's Secret from another's.
    pub fn redis_secret(set: &str, fingerprint: &str) -> String {
        format!("{set}-redis-{fingerprint}")
    }
}

/// The selector labels of one component; stable for the life of the set (selectors of
/// StatefulSets and Deployments are immutable).
pub fn selector_labels(set: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SET_LABEL.to_owned(), set.to_owned()),
        (COMPONENT_LABEL.to_owned(), component.to_owned()),
    ])
}

/// The selector as a string, for the scale subresource (`status.selector`).
pub fn selector_string(set: &str, component: &str) -> String {
    selector_labels(set, component)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Selector labels plus the recommended `app.kubernetes.io/*` labels.
pub fn labels(set: &str, component: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(set, component);
    labels.insert("app.kubernetes.io/name".into(), "roomshard".into());
    labels.insert("app.kubernetes.io/instance".into(), set.to_owned());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGER.into());
    labels
}

impl Inputs<'_> {
    /// Metadata of a child called `name` of `component`.
    pub fn meta(&self, name: String, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.valid.namespace.clone()),
            labels: Some(labels(&self.valid.name, component)),
            owner_references: Some(vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::Inputs;
    use crate::crd::RoomShardSet;
    use crate::validate::{ValidSet, validate};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    pub fn set(spec: serde_json::Value) -> RoomShardSet {
        let mut s = RoomShardSet::new(
            "game",
            serde_json::from_value(spec).expect("spec deserializes"),
        );
        s.metadata.namespace = Some("play".into());
        s.metadata.uid = Some("uid-1".into());
        s
    }

    pub fn valid(set: &RoomShardSet) -> ValidSet {
        validate(set, Some("redis://redis:6379")).expect("valid")
    }

    pub fn owner() -> OwnerReference {
        OwnerReference {
            api_version: "roomshard.dev/v1alpha1".into(),
            kind: "RoomShardSet".into(),
            name: "game".into(),
            uid: "uid-1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    pub fn with<T>(spec: serde_json::Value, f: impl FnOnce(&Inputs<'_>) -> T) -> T {
        let s = set(spec);
        let v = valid(&s);
        f(&Inputs {
            set: &s,
            valid: &v,
            owner: owner(),
            defaults: &super::Defaults::default(),
        })
    }

    /// What `build` makes of a set with `spec`, as JSON, checked to be owned by the set.
    pub fn owned_json<T: serde::Serialize>(
        spec: serde_json::Value,
        build: impl FnOnce(&Inputs<'_>) -> T,
    ) -> serde_json::Value {
        let obj = with(spec, |i| serde_json::to_value(build(i)).expect("json"));
        assert_owned(&obj);
        obj
    }

    /// The variable `name` of a container's environment.
    pub fn env<'a>(container: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        container["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("env {name} missing"))
    }

    /// The operator's default Redis URL reaches `container` through the set `game`'s own
    /// Secret, never as a plain value.
    pub fn assert_redis_from_owned_secret(container: &serde_json::Value) {
        let redis = &env(container, "REDIS_URL")["valueFrom"]["secretKeyRef"];
        assert!(
            redis["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("game-redis-")),
            "{redis}"
        );
        assert_eq!(redis["key"], "redis-url");
        assert!(env(container, "REDIS_URL").get("value").is_none());
    }

    /// The `name` of each entry of a JSON list (containers, env variables, columns).
    pub fn names(list: &serde_json::Value) -> Vec<&str> {
        list.as_array()
            .expect("a list")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect()
    }

    pub fn assert_owned(obj: &serde_json::Value) {
        assert_eq!(obj["metadata"]["namespace"], "play");
        assert_eq!(obj["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(obj["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(obj["metadata"]["labels"]["roomshard.dev/set"], "game");
    }
}
