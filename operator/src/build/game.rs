//! What the game adds to the workers: its custom events (`spec.events` as `EVENTS`).

use super::statefulset::value_env;
use crate::validate::ValidSet;
use k8s_openapi::api::core::v1::EnvVar;

/// The workers' `EVENTS`, when the set declares custom events.
pub fn env(valid: &ValidSet) -> Option<EnvVar> {
    valid
        .events
        .as_ref()
        .map(|events| value_env("EVENTS", events.clone()))
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
        let c = &worker(json!({"shards": 1, "image": "i",
                               "events": [{"name": "shoot", "scope": "nearby"}]}));
        let events: serde_json::Value =
            serde_json::from_str(env(c, "EVENTS")["value"].as_str().expect("a value"))
                .expect("JSON");
        assert_eq!(events[0]["name"], "shoot");
        assert_eq!(events[0]["scope"], "nearby");
        assert_eq!(events[0]["maxBytes"], 1024);
        let c = &worker(json!({"shards": 1, "image": "i"}));
        assert!(
            c["env"]
                .as_array()
                .is_some_and(|e| e.iter().all(|v| v["name"] != "EVENTS"))
        );
    }
}
