//! The shard total, kept in a ConfigMap that worker pods read through `configMapKeyRef`.
//!
//! The total is not written into the pod template: a template change rolls every worker
//! pod, and scaling must not disconnect the players of the shards that stay. A pod reads
//! the total when it starts, so pods started before a scale keep the old total in their
//! heartbeat; nothing routes by it (a room's shard is recorded in Redis when the room is
//! created), so readers take the newest.

use super::{Inputs, names, statefulset};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// Key of the total in the ConfigMap.
pub const TOTAL_KEY: &str = "total";

pub fn shard_count_config_map(inputs: &Inputs<'_>, total: i32) -> ConfigMap {
    ConfigMap {
        metadata: inputs.meta(
            names::shard_count(&inputs.valid.name),
            statefulset::COMPONENT,
        ),
        data: Some(BTreeMap::from([(TOTAL_KEY.to_owned(), total.to_string())])),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::owned_json;
    use serde_json::json;

    #[test]
    fn holds_the_total_and_is_owned() {
        let cm = owned_json(json!({"shards": 3, "image": "i"}), |i| {
            shard_count_config_map(i, 5)
        });
        assert_eq!(cm["metadata"]["name"], "game-shards");
        assert_eq!(cm["data"], json!({"total": "5"}));
    }
}
