//! What the game adds to the workers: its custom events (`spec.events` as `EVENTS`) and
//! the bound of its entities' state (`spec.entityState.maxBytes` as `MAX_STATE_BYTES`).

use super::Inputs;
use super::env::value_env;
use k8s_openapi::api::core::v1::EnvVar;

/// The workers' `EVENTS` and `MAX_STATE_BYTES`, when the set says; unset, the workers'
/// own defaults hold.
pub fn env(inputs: &Inputs<'_>) -> Vec<EnvVar> {
    let events = inputs.valid.events.as_ref();
    let events = events.map(|e| value_env("EVENTS", e.clone()));
    let state = inputs.set.spec.entity_state.and_then(|s| s.max_bytes);
    let state = state.map(|b| value_env("MAX_STATE_BYTES", b.to_string()));
    events.into_iter().chain(state).collect()
}

#[cfg(test)]
mod tests {
    use crate::build::fixture::{env, owned_json};
    use crate::build::statefulset::worker_statefulset;
    use serde_json::json;

    fn worker(spec: serde_json::Value) -> serde_json::Value {
        let sts = owned_json(spec, |i| worker_statefulset(i, 1));
        sts["spec"]["template"]["spec"]["containers"][0].clone()
    }

    #[test]
    fn declared_events_reach_every_worker() {
        let c = &worker(
            json!({"shards": 1, "image": "i", "entityState": {"maxBytes": 512},
                               "events": [{"name": "shoot", "scope": "nearby"}]}),
        );
        assert_eq!(env(c, "MAX_STATE_BYTES")["value"], "512");
        let events: serde_json::Value =
            serde_json::from_str(env(c, "EVENTS")["value"].as_str().expect("a value"))
                .expect("JSON");
        assert_eq!(events[0]["name"], "shoot");
        assert_eq!(events[0]["scope"], "nearby");
        assert_eq!(events[0]["maxBytes"], 1024);
        let c = &worker(json!({"shards": 1, "image": "i"}));
        assert!(c["env"].as_array().is_some_and(|e| {
            e.iter()
                .all(|v| v["name"] != "EVENTS" && v["name"] != "MAX_STATE_BYTES")
        }));
    }
}
