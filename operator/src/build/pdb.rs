//! The workers' PodDisruptionBudget: a voluntary eviction takes one shard at a time.

use super::{Inputs, names, selector_labels, statefulset};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub fn worker_pdb(inputs: &Inputs<'_>) -> PodDisruptionBudget {
    let name = &inputs.valid.name;
    PodDisruptionBudget {
        metadata: inputs.meta(names::pdb(name), statefulset::COMPONENT),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(name, statefulset::COMPONENT)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::owned_json;
    use serde_json::json;

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
