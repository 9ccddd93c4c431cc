//! What a game adds to the protocol: its custom events (`EVENTS`) and the bound of its
//! entities' state (`MAX_STATE_BYTES`), checked at start.

use roomshard_protocol::game_events::{self, EventDecl, Scope};
use std::collections::HashMap;
use std::sync::Arc;

/// The game's settings, flattened into the worker's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct GameArgs {
    /// Custom events: a JSON array of `{"name", "scope": room|nearby|player, "maxBytes"?,
    /// "perSecond"?}` (docs/PROTOCOL.md, "Custom events"). Empty: none.
    #[arg(long, env = "EVENTS", default_value = "")]
    pub events: String,
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
}

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
    pub fn is(&self, name: &str, scope: Scope) -> bool {
        self.get(name).is_some_and(|d| d.scope == scope)
    }
}

impl GameArgs {
    /// Checks the declarations; no event may be larger than a message can be.
    pub fn into_config(self, max_message_bytes: u32) -> Result<GameConfig, String> {
        let decls = game_events::parse_declarations(&self.events)
            .map_err(|e| format!("EVENTS is invalid: {e}"))?;
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(events: &str) -> Result<GameConfig, String> {
        GameArgs {
            events: events.into(),
            max_state_bytes: DEFAULT_STATE_BYTES,
        }
        .into_config(16 * 1024)
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
            (
                r#"[{"name":"x","scope":"server"}]"#,
                "hooks are not configured",
            ),
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
                events: String::new(),
                max_state_bytes: bad,
            };
            let err = args.into_config(16 * 1024).expect_err("out of range");
            assert!(err.contains("MAX_STATE_BYTES"), "{err}");
        }
    }
}
