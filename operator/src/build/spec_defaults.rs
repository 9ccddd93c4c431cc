//! The parts of a set's spec the operator fills in from its own defaults before the set is
//! validated, so a default is held to the same checks as a spec's own and every builder
//! sees one spec: `spec.hooks` from DEFAULT_HOOKS (the chart's `operator.defaultHooks`).
//! Defaults that only one builder reads stay with [`super::Inputs`].

use super::Defaults;
use crate::crd::RoomShardSet;
use std::borrow::Cow;

/// `set`, with the operator's hooks when its spec names none.
pub fn with_defaults<'a>(set: &'a RoomShardSet, defaults: &Defaults) -> Cow<'a, RoomShardSet> {
    match (&set.spec.hooks, &defaults.hooks) {
        (None, Some(hooks)) => {
            let mut filled = set.clone();
            filled.spec.hooks = Some(hooks.clone());
            Cow::Owned(filled)
        }
        _ => Cow::Borrowed(set),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture;
    use serde_json::json;

    fn hooks(url: &str) -> crate::crd::HooksSpec {
        serde_json::from_value(json!({"onJoin": {"url": url}})).expect("hooks")
    }

    #[test]
    fn a_set_without_hooks_gets_the_default_and_its_own_win() {
        let defaults = Defaults {
            hooks: Some(hooks("http://backend.games:8080/join")),
            ..Defaults::default()
        };
        let bare = fixture::set(json!({"shards": 1, "image": "w:1"}));
        let filled = with_defaults(&bare, &defaults);
        assert!(matches!(filled, Cow::Owned(_)));
        let url = filled.spec.hooks.as_ref().and_then(|h| h.on_join.as_ref());
        assert_eq!(
            url.map(|h| h.url.as_str()),
            Some("http://backend.games:8080/join")
        );

        let own = fixture::set(json!({"shards": 1, "image": "w:1",
            "hooks": {"onJoin": {"url": "https://own.example/join"}}}));
        let kept = with_defaults(&own, &defaults);
        assert!(matches!(kept, Cow::Borrowed(_)));
        let url = kept.spec.hooks.as_ref().and_then(|h| h.on_join.as_ref());
        assert_eq!(
            url.map(|h| h.url.as_str()),
            Some("https://own.example/join")
        );

        let none = with_defaults(&bare, &Defaults::default());
        assert!(none.spec.hooks.is_none());
    }
}
