//! Every child of a set, built at once, so the controller applies a finished plan.

use super::{Inputs, ingress, matchmaker, secret, service, shard_count, statefulset};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

/// The children of a set with `replicas` worker pods. The token Secret is not here: it
/// is created once and never rebuilt. Serialized whole, they fingerprint a pass
/// ([`crate::applied`]).
#[derive(serde::Serialize)]
pub struct Children {
    /// The set's Redis URL, when it is a literal: created (never changed) first, since
    /// pods read it.
    pub redis_secret: Option<Secret>,
    pub headless_service: Service,
    pub client_service: Service,
    /// One per shard kept.
    pub shard_services: Vec<Service>,
    pub worker_pdb: PodDisruptionBudget,
    /// Applied before the StatefulSet, so the pods it starts read the new total.
    pub shard_count: ConfigMap,
    pub statefulset: StatefulSet,
    pub matchmaker: Deployment,
    pub matchmaker_service: Service,
    /// Routes `/shard/{i}` of every kept shard and the matchmaker; `None` when disabled.
    pub ingress: Option<Ingress>,
    /// Shards kept: the per-shard Services from this index on are removed.
    pub keep: u32,
}

impl Children {
    pub fn build(inputs: &Inputs<'_>, replicas: i32) -> Self {
        let keep = u32::try_from(replicas).unwrap_or(0);
        Self {
            redis_secret: secret::redis_secret(inputs),
            headless_service: service::headless_service(inputs),
            client_service: service::client_service(inputs),
            shard_services: (0..keep)
                .map(|i| service::shard_service(inputs, i))
                .collect(),
            worker_pdb: statefulset::worker_pdb(inputs),
            shard_count: shard_count::shard_count_config_map(inputs, replicas),
            statefulset: statefulset::worker_statefulset(inputs, replicas),
            matchmaker: matchmaker::matchmaker_deployment(inputs),
            matchmaker_service: service::matchmaker_service(inputs),
            ingress: ingress::ingress(inputs, keep),
            keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::{self, env};
    use serde_json::json;

    #[test]
    fn one_service_per_kept_shard() {
        fixture::with(
            json!({"shards": 3, "image": "example.invalid/roomshard:1"}),
            |inputs| {
                let c = Children::build(inputs, 2);
                assert_eq!(c.keep, 2);
                let names: Vec<_> = c
                    .shard_services
                    .iter()
                    .filter_map(|s| s.metadata.name.clone())
                    .collect();
                assert_eq!(names, ["game-shard-0", "game-shard-1"]);
                assert_eq!(
                    c.statefulset.spec.as_ref().and_then(|s| s.replicas),
                    Some(2)
                );
                assert!(Children::build(inputs, -1).shard_services.is_empty());
            },
        );
    }

    #[test]
    fn sets_of_one_name_in_two_namespaces_get_their_own_key_scope() {
        let env_of = |namespace: &str| {
            let mut set = crate::build::fixture::set(json!({"shards": 1, "image": "i"}));
            set.metadata.namespace = Some(namespace.into());
            let valid = crate::build::fixture::valid(&set);
            let inputs = Inputs {
                set: &set,
                valid: &valid,
                owner: crate::build::fixture::owner(),
                defaults: &crate::build::Defaults::default(),
            };
            let children = Children::build(&inputs, 1);
            let sts = serde_json::to_value(&children.statefulset).expect("json");
            let mm = serde_json::to_value(&children.matchmaker).expect("json");
            let value = |obj: &serde_json::Value, name: &str| {
                env(&obj["spec"]["template"]["spec"]["containers"][0], name)["value"].clone()
            };
            assert_eq!(
                value(&sts, "ROOMSHARD_NAMESPACE"),
                value(&mm, "ROOMSHARD_NAMESPACE")
            );
            (
                value(&sts, "ROOMSHARD_NAMESPACE"),
                valid.keys.prefix().to_owned(),
            )
        };
        let (a_env, a_prefix) = env_of("team-a");
        let (b_env, b_prefix) = env_of("team-b");
        assert_eq!(a_env, "team-a");
        assert_eq!(b_env, "team-b");
        assert_eq!(a_prefix, "roomshard:{team-a/game}:");
        assert_ne!(
            a_prefix, b_prefix,
            "the operator's own view is scoped as its pods are"
        );
    }
}
