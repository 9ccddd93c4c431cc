//! The canary pod of a rollout: one pod from the worker template's newest revision, started
//! before any shard is handed over, so a template that cannot start (an image that cannot
//! be pulled, a process that exits) halts the rollout while every shard still serves.
//!
//! The canary runs the worker without Redis and without a shard (the worker's in-process
//! mode): it proves the image, the command, the env the worker parses, the mounts and the
//! probes, and takes no part in the set. Its component label is not the workers', so
//! neither the StatefulSet (which would adopt it) nor any Service selects it.

use super::{COMPONENT_LABEL, SET_LABEL};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const COMPONENT: &str = "canary";
/// Label carrying the worker revision a canary proves.
pub const REVISION_LABEL: &str = "roomshard.dev/revision";

/// Env the canary goes without: the shard identity and everything that reaches Redis.
fn dropped(name: &str) -> bool {
    name.starts_with("ROOM_SHARD") || name.starts_with("REDIS_")
}

/// The canary of `revision` from the StatefulSet's pod `template`, owned by `owner`.
pub fn canary_pod(
    set: &str,
    namespace: &str,
    revision: &str,
    template: &PodTemplateSpec,
    owner: OwnerReference,
) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut labels = meta.labels.unwrap_or_default();
    labels.insert(SET_LABEL.into(), set.into());
    labels.insert(COMPONENT_LABEL.into(), COMPONENT.into());
    labels.insert(REVISION_LABEL.into(), revision.into());
    let mut spec = template.spec.clone().unwrap_or_default();
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if let Some(env) = c.env.as_mut() {
            env.retain(|e| !dropped(&e.name));
        }
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(super::names::canary(set, revision)),
            namespace: Some(namespace.into()),
            labels: Some(labels),
            annotations: meta.annotations,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::{owner, with};
    use crate::build::statefulset::{self, worker_statefulset};

    #[test]
    fn the_canary_runs_the_template_without_shard_or_redis() {
        let sts = with(serde_json::json!({"shards": 3, "image": "i"}), |i| {
            worker_statefulset(i, 3)
        });
        let template = sts.spec.expect("a spec").template;
        let pod = canary_pod("arena", "games", "arena-7f9c", &template, owner());
        assert_eq!(pod.metadata.name.as_deref(), Some("arena-canary-7f9c"));
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels[COMPONENT_LABEL], COMPONENT);
        assert_ne!(
            labels[COMPONENT_LABEL],
            statefulset::COMPONENT,
            "the StatefulSet would adopt it"
        );
        assert_eq!(labels[REVISION_LABEL], "arena-7f9c");
        let spec = pod.spec.expect("a spec");
        let c = &spec.containers[0];
        let want = &template.spec.as_ref().expect("a spec").containers[0];
        assert_eq!(c.image, want.image);
        assert_eq!(c.readiness_probe, want.readiness_probe);
        let names: Vec<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
        assert!(
            names.contains(&"ROOMSHARD_SET") && names.contains(&"PORT"),
            "{names:?}"
        );
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("ROOM_SHARD") || n.starts_with("REDIS_")),
            "{names:?}"
        );
        assert_eq!(pod.metadata.owner_references.map(|o| o.len()), Some(1));
    }
}
