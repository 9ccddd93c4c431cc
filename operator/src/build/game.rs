//! What the game adds to the workers: its custom events (`spec.events` as `EVENTS`), the
//! bound of its entities' state (`spec.entityState.maxBytes` as `MAX_STATE_BYTES`) and its
//! server hooks (`spec.hooks` as `HOOKS`, its `secretRef` as `HOOK_SECRET`).

use super::Inputs;
use super::env::{secret_env, value_env};
use k8s_openapi::api::core::v1::EnvVar;

/// The workers' `EVENTS`, `MAX_STATE_BYTES`, `HOOKS` and `HOOK_SECRET`, when the set
/// says; unset, the workers' own defaults hold.
pub fn env(inputs: &Inputs<'_>) -> Vec<EnvVar> {
    let events = inputs.valid.events.as_ref();
    let events = events.map(|e| value_env("EVENTS", e.clone()));
    let state = inputs.set.spec.entity_state.and_then(|s| s.max_bytes);
    let state = state.map(|b| value_env("MAX_STATE_BYTES", b.to_string()));
    let hooks = inputs.valid.hooks.as_ref();
    let hooks = hooks.map(|h| value_env("HOOKS", h.clone()));
    let secret = inputs
        .set
        .spec
        .hooks
        .as_ref()
        .and_then(|h| h.secret_ref.as_ref());
    let secret = secret.map(|s| secret_env("HOOK_SECRET", &s.name, &s.key));
    events
        .into_iter()
        .chain(state)
        .chain(hooks)
        .chain(secret)
        .collect()
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

    #[test]
    fn hooks_and_their_secret_reach_every_worker() {
        let c = &worker(json!({"shards": 1, "image": "i", "hooks": {
            "onEvent": {"url": "http://backend/event", "failure": "open"},
            "secretRef": {"name": "game", "key": "hook-secret"}}}));
        let hooks: serde_json::Value =
            serde_json::from_str(env(c, "HOOKS")["value"].as_str().expect("a value"))
                .expect("JSON");
        assert_eq!(hooks["onEvent"]["url"], "http://backend/event");
        assert_eq!(hooks["onEvent"]["failure"], "open");
        let secret = &env(c, "HOOK_SECRET")["valueFrom"]["secretKeyRef"];
        assert_eq!(
            (&secret["name"], &secret["key"]),
            (&json!("game"), &json!("hook-secret"))
        );
    }
}
