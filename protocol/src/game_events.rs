//! Custom events: the events a game declares for its set (worker `EVENTS`, the operator's
//! `spec.events`), each with a scope that says who receives it, a payload bound and a rate.
//! The declarations are checked here, once, for the worker and the operator alike.
//! docs/PROTOCOL.md ("Custom events") is the contract.

use serde::{Deserialize, Serialize};

/// Most custom events one set may declare.
pub const MAX_EVENTS: usize = 32;
/// Longest custom event name.
pub const MAX_EVENT_NAME_CHARS: usize = 32;
/// Largest `maxBytes` a declaration may ask for (the worker also caps it at its
/// `MAX_MESSAGE_BYTES`, which no message can exceed anyway).
pub const MAX_EVENT_BYTES: u32 = 1024 * 1024;
/// Highest `perSecond` a declaration may ask for.
pub const MAX_EVENT_PER_SECOND: u32 = 1000;
/// `maxBytes` when a declaration names none.
pub const DEFAULT_EVENT_BYTES: u32 = 1024;
/// `perSecond` when a declaration names none.
pub const DEFAULT_EVENT_PER_SECOND: u32 = 10;

/// Names a custom event may not take: the protocol's own events in both directions, and
/// those Socket.IO clients reserve for themselves.
pub const RESERVED_NAMES: &[&str] = &[
    crate::events::JOIN,
    crate::events::MOVE,
    crate::events::SAY,
    crate::events::LEAVE,
    crate::events::RESUME,
    crate::events::STATE,
    crate::events::VIEW,
    crate::events::PRESENCE,
    crate::events::SAID,
    crate::events::ERROR,
    crate::events::DRAINING,
    crate::events::MIGRATE,
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
    "message",
];

/// Who receives a custom event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Everyone in the sender's room, on every worker; numbered (`seq`) and replayed on
    /// resume like chat.
    Room,
    /// The players whose area of interest holds the sender, as their `view` has it.
    Nearby,
    /// One player of the room, named by its public id (`to`).
    Player,
    /// The game's `onEvent` hook.
    Server,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Room => "room",
            Scope::Nearby => "nearby",
            Scope::Player => "player",
            Scope::Server => "server",
        }
    }
}

fn default_bytes() -> u32 {
    DEFAULT_EVENT_BYTES
}

fn default_per_second() -> u32 {
    DEFAULT_EVENT_PER_SECOND
}

/// One declared custom event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventDecl {
    pub name: String,
    pub scope: Scope,
    /// Largest payload accepted: its JSON plus its binary attachments, in bytes.
    #[serde(default = "default_bytes")]
    pub max_bytes: u32,
    /// Events of this name one connection may send per second (with a burst of as many).
    #[serde(default = "default_per_second")]
    pub per_second: u32,
}

/// Reads a JSON array of declarations (empty text: none) and checks it; `server_hook`
/// says whether an `onEvent` hook takes `server` events.
pub fn parse_declarations(text: &str, server_hook: bool) -> Result<Vec<EventDecl>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let decls: Vec<EventDecl> = serde_json::from_str(text).map_err(|e| {
        format!(
            "expected a JSON array of {{\"name\", \"scope\": room|nearby|player|server, \"maxBytes\"?, \"perSecond\"?}}: {e}"
        )
    })?;
    validate_declarations(&decls, server_hook)?;
    Ok(decls)
}

/// Checks a set's declarations: bounded in number, each name valid, free and unique,
/// bounds in range, and no `server` event without an `onEvent` hook to take it.
pub fn validate_declarations(decls: &[EventDecl], server_hook: bool) -> Result<(), String> {
    if decls.len() > MAX_EVENTS {
        return Err(format!(
            "{} events are declared; at most {MAX_EVENTS} are allowed",
            decls.len()
        ));
    }
    for (i, d) in decls.iter().enumerate() {
        let at = |msg: String| format!("event {i} ({:?}): {msg}", d.name);
        validate_event_name(&d.name).map_err(at)?;
        if decls[..i].iter().any(|o| o.name == d.name) {
            return Err(at("declared twice".into()));
        }
        if d.scope == Scope::Server && !server_hook {
            return Err(at(
                "scope \"server\" delivers to the onEvent hook, and no onEvent hook is \
                 configured (HOOKS, spec.hooks); configure one, or use room, nearby or player"
                    .into(),
            ));
        }
        if !(1..=MAX_EVENT_BYTES).contains(&d.max_bytes) {
            return Err(at(format!(
                "maxBytes {} must be between 1 and {MAX_EVENT_BYTES}",
                d.max_bytes
            )));
        }
        if !(1..=MAX_EVENT_PER_SECOND).contains(&d.per_second) {
            return Err(at(format!(
                "perSecond {} must be between 1 and {MAX_EVENT_PER_SECOND}",
                d.per_second
            )));
        }
    }
    Ok(())
}

/// A custom event name: 1 to [`MAX_EVENT_NAME_CHARS`] of `A-Z a-z 0-9 _ - . :`, not one of
/// [`RESERVED_NAMES`].
pub fn validate_event_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    if len == 0 || len > MAX_EVENT_NAME_CHARS {
        return Err(format!(
            "the name must be 1 to {MAX_EVENT_NAME_CHARS} characters long"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err("the name may only hold A-Z a-z 0-9 _ - . :".into());
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!("{name:?} is a built-in event; choose another name"));
    }
    Ok(())
}

/// What a receiver of a custom event gets: the sender's public id, the payload exactly as
/// sent, and for a `room` event its number in the room (`seq`, set by the room's log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relayed<D = serde_json::Value> {
    pub from: String,
    pub data: D,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// What a `player` event's sender sends: the receiver and the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addressed {
    pub to: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_parse_with_defaults() {
        let d = parse_declarations(
            r#"[{"name":"shoot","scope":"nearby"},{"name":"team:chat","scope":"room","maxBytes":512,"perSecond":2}]"#,
            false,
        )
        .expect("valid");
        assert_eq!(d[0].max_bytes, DEFAULT_EVENT_BYTES);
        assert_eq!(d[0].per_second, DEFAULT_EVENT_PER_SECOND);
        assert_eq!(
            (d[1].scope, d[1].max_bytes, d[1].per_second),
            (Scope::Room, 512, 2)
        );
        assert!(parse_declarations("  ", false).expect("none").is_empty());
        let server = parse_declarations(r#"[{"name":"tag","scope":"server"}]"#, true);
        assert_eq!(server.expect("with a hook")[0].scope, Scope::Server);
    }

    #[test]
    fn bad_declarations_say_what_is_wrong() {
        let many = serde_json::to_string(
            &(0..=MAX_EVENTS)
                .map(|i| serde_json::json!({"name": format!("e{i}"), "scope": "room"}))
                .collect::<Vec<_>>(),
        )
        .expect("json");
        for (text, needle) in [
            (r#"{"name":"x"}"#, "JSON array"),
            (r#"[{"name":"x","scope":"everyone"}]"#, "JSON array"),
            (r#"[{"name":"x","scope":"room","extra":1}]"#, "JSON array"),
            (r#"[{"name":"move","scope":"room"}]"#, "built-in"),
            (r#"[{"name":"state","scope":"room"}]"#, "built-in"),
            (r#"[{"name":"disconnect","scope":"room"}]"#, "built-in"),
            (r#"[{"name":"","scope":"room"}]"#, "1 to 32"),
            (r#"[{"name":"a b","scope":"room"}]"#, "may only hold"),
            (
                r#"[{"name":"x","scope":"room"},{"name":"x","scope":"player"}]"#,
                "twice",
            ),
            (r#"[{"name":"x","scope":"server"}]"#, "no onEvent hook"),
            (r#"[{"name":"x","scope":"room","maxBytes":0}]"#, "maxBytes"),
            (
                r#"[{"name":"x","scope":"room","perSecond":0}]"#,
                "perSecond",
            ),
            (
                r#"[{"name":"x","scope":"room","perSecond":100000}]"#,
                "perSecond",
            ),
            (many.as_str(), "at most 32"),
        ] {
            let err = parse_declarations(text, false).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
        let long = "n".repeat(MAX_EVENT_NAME_CHARS + 1);
        assert!(validate_event_name(&long).is_err());
    }

    #[test]
    fn relayed_events_carry_from_and_seq_only_when_numbered() {
        let r = Relayed {
            from: "p1".into(),
            data: serde_json::json!({"dx": 1}),
            seq: None,
        };
        assert_eq!(
            serde_json::to_value(&r).expect("json"),
            serde_json::json!({"from": "p1", "data": {"dx": 1}})
        );
        let a: Addressed = serde_json::from_str(r#"{"to":"p2"}"#).expect("no data");
        assert_eq!(a.data, serde_json::Value::Null);
        assert!(serde_json::from_str::<Addressed>(r#"{"to":"p2","x":1}"#).is_err());
    }
}
