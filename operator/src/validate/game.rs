//! `spec.events`, checked by the rules the workers apply to `EVENTS`, and
//! `spec.entityState`.

use super::SpecError;
use crate::crd::{EntityStateSpec, EventScope, EventSpec, MAX_EVENT_BYTES};
use roomshard_protocol::game_events::{self as game, EventDecl, Scope};

/// `spec.events`: the checks the workers make of `EVENTS` (one set of rules, in the
/// protocol), and a payload bound the workers' messages can hold. Returns the `EVENTS`
/// value.
pub(super) fn check_events(
    events: &[EventSpec],
    server_hook: bool,
) -> Result<Option<String>, SpecError> {
    if events.is_empty() {
        return Ok(None);
    }
    let non_negative = |v: Option<i32>, default: u32| v.map_or(Ok(default), u32::try_from);
    let mut decls = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let bad = |what: &str| SpecError(format!("spec.events[{i}] ({:?}): {what}", e.name));
        if e.max_bytes.is_some_and(|b| b > MAX_EVENT_BYTES) {
            return Err(bad(&format!(
                "maxBytes must be at most {MAX_EVENT_BYTES}, the workers' message size limit"
            )));
        }
        decls.push(EventDecl {
            name: e.name.clone(),
            scope: match e.scope {
                EventScope::Room => Scope::Room,
                EventScope::Nearby => Scope::Nearby,
                EventScope::Player => Scope::Player,
                EventScope::Server => Scope::Server,
            },
            max_bytes: non_negative(e.max_bytes, game::DEFAULT_EVENT_BYTES)
                .map_err(|_| bad("maxBytes must be at least 1"))?,
            per_second: non_negative(e.per_second, game::DEFAULT_EVENT_PER_SECOND)
                .map_err(|_| bad("perSecond must be at least 1"))?,
        });
    }
    game::validate_declarations(&decls, server_hook)
        .map_err(|e| SpecError(format!("spec.events: {e}")))?;
    serde_json::to_string(&decls)
        .map(Some)
        .map_err(|e| SpecError(format!("spec.events cannot be encoded: {e}")))
}

/// `spec.entityState.maxBytes`, in the workers' range for `MAX_STATE_BYTES`.
pub(super) fn check_entity_state(state: Option<EntityStateSpec>) -> Result<(), SpecError> {
    match state.and_then(|s| s.max_bytes) {
        Some(b) if !(1..=4096).contains(&b) => Err(SpecError(format!(
            "spec.entityState.maxBytes {b} must be between 1 and 4096"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::set;

    #[test]
    fn events_become_the_workers_declarations() {
        let v = crate::validate::validate(
            &set(serde_json::json!({"shards": 1, "image": "i", "events": [
                {"name": "shoot", "scope": "nearby", "maxBytes": 64},
                {"name": "whisper", "scope": "player", "perSecond": 2}
            ]})),
            Some("redis://r"),
        )
        .expect("valid");
        let events = v.events.expect("EVENTS");
        assert_eq!(
            game::parse_declarations(&events, false).expect("workers take it"),
            vec![
                EventDecl {
                    name: "shoot".into(),
                    scope: Scope::Nearby,
                    max_bytes: 64,
                    per_second: 10,
                },
                EventDecl {
                    name: "whisper".into(),
                    scope: Scope::Player,
                    max_bytes: 1024,
                    per_second: 2,
                },
            ]
        );
        let none = crate::validate::validate(
            &set(serde_json::json!({"shards": 1, "image": "i"})),
            Some("r"),
        );
        assert_eq!(none.expect("valid").events, None);
    }

    #[test]
    fn entity_state_bound_in_range() {
        let check = |b: i32| {
            crate::validate::validate(
                &set(
                    serde_json::json!({"shards": 1, "image": "i", "entityState": {"maxBytes": b}}),
                ),
                Some("r"),
            )
            .map(|_| ())
            .map_err(|e| e.0)
        };
        assert!(check(512).is_ok());
        for bad in [0, 5000] {
            assert!(
                check(bad)
                    .expect_err("out of range")
                    .contains("spec.entityState.maxBytes")
            );
        }
    }
}
