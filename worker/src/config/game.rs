//! What a game adds to the protocol: its custom events (`EVENTS`), the bound of its
//! entities' state (`MAX_STATE_BYTES`) and its server hooks (`HOOKS`, `HOOK_SECRET`),
//! checked at start.

use roomshard_protocol::game_events::{self, EventDecl};
use roomshard_protocol::hooks::{self, HooksDecl};
use std::collections::HashMap;
use std::sync::Arc;

/// The game's settings, flattened into the worker's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct GameArgs {
    /// Custom events: a JSON array of `{"name", "scope": room|nearby|player|server,
    /// "maxBytes"?, "perSecond"?}` (docs/PROTOCOL.md, "Custom events"). Empty: none.
    #[arg(long, env = "EVENTS", default_value = "")]
    pub events: String,
    /// Server hooks: a JSON object `{"onJoin"?, "onEvent"?, "onRoomCreated"?,
    /// "onRoomClosed"?}`, each `{"url", "timeoutMs"?, "maxConcurrency"?, "failure"?:
    /// open|closed, "breaker"?: {"failures"?, "openMs"?}}` (docs/PROTOCOL.md, "Server
    /// hooks"). Empty: none.
    #[arg(long, env = "HOOKS", default_value = "")]
    pub hooks: String,
    /// Key of the `x-roomshard-signature` HMAC of every hook request (at least 16 bytes).
    /// Unset: requests are not signed.
    #[arg(long, env = "HOOK_SECRET", hide_env_values = true)]
    pub hook_secret: Option<String>,
    /// Largest entity state (`move {state}`, `state {state}`), in bytes of JSON text.
    #[arg(long, env = "MAX_STATE_BYTES", default_value_t = DEFAULT_STATE_BYTES)]
    pub max_state_bytes: usize,
}

/// Default bound of an entity's state.
pub const DEFAULT_STATE_BYTES: usize = 256;
/// Most bytes an entity's state may be allowed: every `view` batch that shows an entity
/// entering carries its state, so a batch of a crowded area grows with this.
pub const MAX_STATE_BYTES: usize = 4096;

/// The game's settings after validation.
#[derive(Debug, Clone)]
pub struct GameConfig {
    pub events: GameEvents,
    pub max_state_bytes: usize,
    pub hooks: HooksDecl,
    /// Signs hook requests when set.
    pub hook_secret: Option<Vec<u8>>,
}

/// Shortest hook secret accepted.
pub const MIN_HOOK_SECRET_BYTES: usize = 16;

/// The declared custom events, by name.
#[derive(Debug, Clone, Default)]
pub struct GameEvents(Arc<HashMap<String, EventDecl>>);

impl GameEvents {
    pub fn new(decls: Vec<EventDecl>) -> Self {
        Self(Arc::new(
            decls.into_iter().map(|d| (d.name.clone(), d)).collect(),
        ))
    }

    /// The declaration of the event `name`, if it is declared.
    pub fn get(&self, name: &str) -> Option<&EventDecl> {
        self.0.get(name)
    }

    /// Whether `name` is a declared event of `scope`.
    #[cfg(test)]
    pub fn is(&self, name: &str, scope: game_events::Scope) -> bool {
        self.get(name).is_some_and(|d| d.scope == scope)
    }
}

impl GameArgs {
    /// Checks the declarations; no event may be larger than a message can be.
    pub fn into_config(self, max_message_bytes: u32) -> Result<GameConfig, String> {
        let hooks =
            hooks::parse_hooks(&self.hooks).map_err(|e| format!("HOOKS is invalid: {e}"))?;
        let decls = game_events::parse_declarations(&self.events, hooks.on_event.is_some())
            .map_err(|e| format!("EVENTS is invalid: {e}"))?;
        let hook_secret = self.hook_secret.filter(|s| !s.is_empty());
        if hook_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_HOOK_SECRET_BYTES)
        {
            return Err(format!(
                "HOOK_SECRET must be at least {MIN_HOOK_SECRET_BYTES} bytes"
            ));
        }
        if let Some(d) = decls.iter().find(|d| d.max_bytes > max_message_bytes) {
            return Err(format!(
                "EVENTS is invalid: event {:?} allows maxBytes {}, above MAX_MESSAGE_BYTES ({max_message_bytes}), which no message may exceed",
                d.name, d.max_bytes
            ));
        }
        if !(1..=MAX_STATE_BYTES).contains(&self.max_state_bytes) {
            return Err(format!(
                "MAX_STATE_BYTES must be between 1 and {MAX_STATE_BYTES}, got {}",
                self.max_state_bytes
            ));
        }
        Ok(GameConfig {
            events: GameEvents::new(decls),
            max_state_bytes: self.max_state_bytes,
            hooks,
            hook_secret: hook_secret.map(String::into_bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomshard_protocol::game_events::Scope;

    fn args(events: &str, hooks: &str) -> GameArgs {
        GameArgs {
            events: events.into(),
            max_state_bytes: DEFAULT_STATE_BYTES,
            hooks: hooks.into(),
            hook_secret: None,
        }
    }

    fn game(events: &str) -> Result<GameConfig, String> {
        args(events, "").into_config(16 * 1024)
    }

    #[test]
    fn declared_events_are_found_by_name_and_scope() {
        let g = game(r#"[{"name":"shoot","scope":"nearby"},{"name":"whisper","scope":"player"}]"#)
            .expect("valid");
        assert!(g.events.is("shoot", Scope::Nearby));
        assert!(!g.events.is("shoot", Scope::Room));
        assert_eq!(
            g.events.get("whisper").map(|d| d.scope),
            Some(Scope::Player)
        );
        assert!(g.events.get("move").is_none());
        assert!(game("").expect("none").events.get("shoot").is_none());
    }

    #[test]
    fn bad_events_name_the_variable_and_the_problem() {
        for (text, needle) in [
            (r#"[{"name":"say","scope":"room"}]"#, "built-in"),
            (r#"[{"name":"x","scope":"server"}]"#, "no onEvent hook"),
            (
                r#"[{"name":"x","scope":"room","maxBytes":20000}]"#,
                "MAX_MESSAGE_BYTES",
            ),
            ("not json", "JSON array"),
        ] {
            let err = game(text).expect_err(text);
            assert!(err.starts_with("EVENTS is invalid"), "{err}");
            assert!(err.contains(needle), "{text}: {err}");
        }
        for bad in [0, MAX_STATE_BYTES + 1] {
            let args = GameArgs {
                max_state_bytes: bad,
                ..args("", "")
            };
            let err = args.into_config(16 * 1024).expect_err("out of range");
            assert!(err.contains("MAX_STATE_BYTES"), "{err}");
        }
    }

    #[test]
    fn server_events_need_an_on_event_hook() {
        let server = r#"[{"name":"tag","scope":"server"}]"#;
        let hooks = r#"{"onEvent":{"url":"http://backend/event"}}"#;
        let g = args(server, hooks).into_config(16 * 1024).expect("valid");
        assert!(g.events.is("tag", Scope::Server));
        assert!(g.hooks.on_event.is_some());
        let err = args(server, r#"{"onEvent":{"url":"nope"}}"#)
            .into_config(16 * 1024)
            .expect_err("bad url");
        assert!(err.starts_with("HOOKS is invalid"), "{err}");
        let short = GameArgs {
            hook_secret: Some("short".into()),
            ..args("", hooks)
        };
        assert!(
            short
                .into_config(16 * 1024)
                .expect_err("short")
                .contains("HOOK_SECRET")
        );
    }
}
