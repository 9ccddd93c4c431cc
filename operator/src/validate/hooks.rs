//! `spec.hooks`: the checks the workers make of `HOOKS` (one set of rules, in the
//! protocol crate), and the JSON the workers are handed.

use super::SpecError;
use crate::crd::{HookFailure, HookSpec, HooksSpec};
use roomshard_protocol::hooks::{self, BreakerDecl, Failure, HookDecl, HooksDecl};

/// Checks the operator's default hooks (DEFAULT_HOOKS) as a set's own would be.
pub fn check_default_hooks(spec: &HooksSpec) -> Result<(), SpecError> {
    check_hooks(Some(spec)).map(drop)
}

/// The workers' `HOOKS`, or None when the set has no hooks.
pub(super) fn check_hooks(spec: Option<&HooksSpec>) -> Result<Option<String>, SpecError> {
    let Some(spec) = spec else { return Ok(None) };
    let decl = |h: &Option<HookSpec>, name: &str| -> Result<Option<HookDecl>, SpecError> {
        let Some(h) = h else { return Ok(None) };
        let bad = |what: &str| SpecError(format!("spec.hooks.{name}.{what}"));
        let breaker = h.breaker.unwrap_or(crate::crd::BreakerSpec {
            failures: None,
            open_ms: None,
        });
        Ok(Some(HookDecl {
            url: h.url.clone(),
            timeout_ms: h
                .timeout_ms
                .map_or(Ok(hooks::DEFAULT_TIMEOUT_MS), u64::try_from)
                .map_err(|_| bad("timeoutMs must be at least 1"))?,
            max_concurrency: h
                .max_concurrency
                .map_or(Ok(hooks::DEFAULT_CONCURRENCY), u32::try_from)
                .map_err(|_| bad("maxConcurrency must be at least 1"))?,
            failure: h.failure.map(|f| match f {
                HookFailure::Open => Failure::Open,
                HookFailure::Closed => Failure::Closed,
            }),
            breaker: BreakerDecl {
                failures: breaker
                    .failures
                    .map_or(Ok(hooks::DEFAULT_BREAKER_FAILURES), u32::try_from)
                    .map_err(|_| bad("breaker.failures must be at least 1"))?,
                open_ms: breaker
                    .open_ms
                    .map_or(Ok(hooks::DEFAULT_BREAKER_OPEN_MS), u64::try_from)
                    .map_err(|_| bad("breaker.openMs must be at least 1"))?,
            },
        }))
    };
    let decls = HooksDecl {
        on_join: decl(&spec.on_join, "onJoin")?,
        on_event: decl(&spec.on_event, "onEvent")?,
        on_room_created: decl(&spec.on_room_created, "onRoomCreated")?,
        on_room_closed: decl(&spec.on_room_closed, "onRoomClosed")?,
    };
    if decls.is_empty() {
        return Ok(None);
    }
    hooks::validate_hooks(&decls).map_err(|e| SpecError(format!("spec.hooks.{e}")))?;
    serde_json::to_string(&decls)
        .map(Some)
        .map_err(|e| SpecError(format!("spec.hooks cannot be encoded: {e}")))
}

#[cfg(test)]
mod tests {
    use crate::validate::tests::set;
    use roomshard_protocol::hooks::{Failure, HookName, parse_hooks};

    fn validate(hooks: serde_json::Value) -> Result<crate::validate::ValidSet, String> {
        crate::validate::validate(
            &set(
                serde_json::json!({"shards": 1, "image": "i", "hooks": hooks,
                "events": [{"name": "tag", "scope": "server"}]}),
            ),
            Some("redis://r"),
        )
        .map_err(|e| e.0)
    }

    #[test]
    fn hooks_become_the_workers_settings() {
        let v = validate(serde_json::json!({
            "onEvent": {"url": "http://backend/event", "timeoutMs": 250, "failure": "open",
                        "breaker": {"failures": 3}},
            "onJoin": {"url": "https://backend/join"}
        }))
        .expect("valid");
        let hooks = parse_hooks(&v.hooks.expect("HOOKS")).expect("workers take it");
        let event = hooks.get(HookName::OnEvent).expect("onEvent");
        assert_eq!((event.timeout_ms, event.breaker.failures), (250, 3));
        assert_eq!(event.failure_of(HookName::OnEvent), Failure::Open);
        assert_eq!(
            hooks
                .get(HookName::OnJoin)
                .map(|h| h.failure_of(HookName::OnJoin)),
            Some(Failure::Closed)
        );
    }

    #[test]
    fn bad_hooks_and_server_events_without_one_are_refused() {
        for (hooks, needle) in [
            (
                serde_json::json!({"onEvent": {"url": "ftp://x"}}),
                "spec.hooks.onEvent",
            ),
            (
                serde_json::json!({"onEvent": {"url": "http://x"},
                                   "onRoomClosed": {"url": "http://x", "failure": "closed"}}),
                "onRoomClosed",
            ),
            (
                serde_json::json!({"onJoin": {"url": "http://x"}}),
                "no onEvent hook",
            ),
            (
                serde_json::json!({"onEvent": {"url": "http://x", "timeoutMs": -1}}),
                "timeoutMs",
            ),
        ] {
            let err = validate(hooks.clone()).expect_err("refused");
            assert!(err.contains(needle), "{hooks}: {err}");
        }
    }
}
