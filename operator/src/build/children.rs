//! Every child of a set, built at once, so the controller applies a finished plan.

use super::{Inputs, matchmaker, secret, service, shard_count, statefulset};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

/// The children of a set with `replicas` worker pods, fields in the order they are
/// applied. The token Secret is not here: it is created once and never rebuilt.
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
            keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture;
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
}
