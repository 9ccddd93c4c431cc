//! Server hooks: HTTP webhooks from the workers to the game's backend. Their configuration
//! (worker `HOOKS`, the operator's `spec.hooks`) is checked here for both; their requests
//! and answers are version 1 of docs/hooks/*.schema.json, described in docs/PROTOCOL.md
//! ("Server hooks"). Nothing here performs I/O.

use crate::game_events::{Scope, validate_event_name};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version of every hook request and answer.
pub const HOOK_VERSION: u32 = 1;
/// Largest hook answer read, in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Most events one `onEvent` answer may emit.
pub const MAX_EMITS: usize = 16;
/// Largest player metadata an `onJoin` answer may attach, in bytes of JSON.
pub const MAX_PLAYER_METADATA_BYTES: usize = 1024;
/// Longest code of a refusal.
pub const MAX_CODE_CHARS: usize = 32;
/// Longest message of a refusal (longer ones are cut).
pub const MAX_MESSAGE_CHARS: usize = 200;
/// Longest hook URL.
pub const MAX_URL_CHARS: usize = 2048;
/// The signature header of a request when a hook secret is set: `sha256=<hex HMAC>` of
/// the body.
pub const SIGNATURE_HEADER: &str = "x-roomshard-signature";
/// What a player id reads as in an event a hook emitted.
pub const FROM_SERVER: &str = "server";

/// Bounds of a hook's settings.
pub const MAX_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 1_000;
pub const MAX_CONCURRENCY: u32 = 4096;
pub const DEFAULT_CONCURRENCY: u32 = 64;
pub const DEFAULT_BREAKER_FAILURES: u32 = 5;
pub const DEFAULT_BREAKER_OPEN_MS: u64 = 5_000;

/// The four hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookName {
    OnJoin,
    OnEvent,
    OnRoomCreated,
    OnRoomClosed,
}

impl HookName {
    pub const ALL: [HookName; 4] = [
        HookName::OnJoin,
        HookName::OnEvent,
        HookName::OnRoomCreated,
        HookName::OnRoomClosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookName::OnJoin => "onJoin",
            HookName::OnEvent => "onEvent",
            HookName::OnRoomCreated => "onRoomCreated",
            HookName::OnRoomClosed => "onRoomClosed",
        }
    }

    /// What a hook does when it gets no usable answer, unless its settings say.
    pub fn default_failure(self) -> Failure {
        match self {
            HookName::OnJoin | HookName::OnEvent => Failure::Closed,
            HookName::OnRoomCreated | HookName::OnRoomClosed => Failure::Open,
        }
    }
}

/// What a hook that gets no usable answer (late, an error status, garbage, unreachable,
/// its breaker open, its concurrency used up) does to what it guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    /// Goes ahead as though the hook were not configured.
    Open,
    /// Refuses what the hook guards with `hook_failed`.
    Closed,
}

/// The circuit breaker of a hook: after `failures` failures in a row the hook is not
/// called for `openMs`; then one call tries it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BreakerDecl {
    #[serde(default = "default_breaker_failures")]
    pub failures: u32,
    #[serde(default = "default_breaker_open_ms")]
    pub open_ms: u64,
}

impl Default for BreakerDecl {
    fn default() -> Self {
        Self {
            failures: DEFAULT_BREAKER_FAILURES,
            open_ms: DEFAULT_BREAKER_OPEN_MS,
        }
    }
}

fn default_breaker_failures() -> u32 {
    DEFAULT_BREAKER_FAILURES
}
fn default_breaker_open_ms() -> u64 {
    DEFAULT_BREAKER_OPEN_MS
}
fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn default_concurrency() -> u32 {
    DEFAULT_CONCURRENCY
}

/// One hook's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookDecl {
    /// Where the hook's requests are POSTed (http or https).
    pub url: String,
    /// Deadline of one call, answer read included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Calls in flight at once, per worker; a call beyond them fails at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// Unset: the hook's default ([`HookName::default_failure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default)]
    pub breaker: BreakerDecl,
}

/// The hooks of a set; any may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HooksDecl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_join: Option<HookDecl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_event: Option<HookDecl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_room_created: Option<HookDecl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_room_closed: Option<HookDecl>,
}

impl HooksDecl {
    pub fn get(&self, name: HookName) -> Option<&HookDecl> {
        match name {
            HookName::OnJoin => self.on_join.as_ref(),
            HookName::OnEvent => self.on_event.as_ref(),
            HookName::OnRoomCreated => self.on_room_created.as_ref(),
            HookName::OnRoomClosed => self.on_room_closed.as_ref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        HookName::ALL.iter().all(|h| self.get(*h).is_none())
    }
}

impl HookDecl {
    /// What this hook does on failure.
    pub fn failure_of(&self, name: HookName) -> Failure {
        self.failure.unwrap_or(name.default_failure())
    }
}

/// Reads a JSON object of hook settings (empty text: no hooks) and checks it.
pub fn parse_hooks(text: &str) -> Result<HooksDecl, String> {
    if text.trim().is_empty() {
        return Ok(HooksDecl::default());
    }
    let hooks: HooksDecl = serde_json::from_str(text).map_err(|e| {
        format!(
            "expected a JSON object of {{\"onJoin\"?, \"onEvent\"?, \"onRoomCreated\"?, \"onRoomClosed\"?}}, each {{\"url\", \"timeoutMs\"?, \"maxConcurrency\"?, \"failure\"?: open|closed, \"breaker\"?: {{\"failures\"?, \"openMs\"?}}}}: {e}"
        )
    })?;
    validate_hooks(&hooks)?;
    Ok(hooks)
}

/// Checks every hook's settings.
pub fn validate_hooks(hooks: &HooksDecl) -> Result<(), String> {
    for name in HookName::ALL {
        let Some(h) = hooks.get(name) else { continue };
        let at = |msg: String| format!("{}: {msg}", name.as_str());
        validate_url(&h.url).map_err(at)?;
        if !(1..=MAX_TIMEOUT_MS).contains(&h.timeout_ms) {
            return Err(at(format!(
                "timeoutMs {} must be between 1 and {MAX_TIMEOUT_MS}",
                h.timeout_ms
            )));
        }
        if !(1..=MAX_CONCURRENCY).contains(&h.max_concurrency) {
            return Err(at(format!(
                "maxConcurrency {} must be between 1 and {MAX_CONCURRENCY}",
                h.max_concurrency
            )));
        }
        if h.breaker.failures == 0 || !(1..=3_600_000).contains(&h.breaker.open_ms) {
            return Err(at(
                "breaker.failures must be at least 1 and breaker.openMs between 1 and 3600000"
                    .into(),
            ));
        }
        if name == HookName::OnRoomClosed && h.failure == Some(Failure::Closed) {
            return Err(at(
                "failure must be \"open\": a closed room is gone whatever the hook answers".into(),
            ));
        }
    }
    Ok(())
}

fn validate_url(url: &str) -> Result<(), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("url is longer than {MAX_URL_CHARS} characters"));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("url {url:?} must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("url {url:?} names no host, or holds spaces"));
    }
    Ok(())
}

/// A hook's refusal code: 1 to [`MAX_CODE_CHARS`] of `a-z 0-9 _`.
pub fn valid_code(code: &str) -> bool {
    (1..=MAX_CODE_CHARS).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

// ---- Requests ----

/// The player a request is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookPlayer {
    pub id: String,
    pub name: String,
    /// The subject of the JWT the player's reservation was bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What `onJoin` attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// Where a request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookOrigin {
    pub set: String,
    pub shard: u32,
    pub room: String,
    /// Absent from `onJoin`, which runs before the seat (and its track) is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
}

/// `onJoin`: a player is about to take a seat (docs/hooks/on-join.request.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub version: u32,
    pub hook: String,
    #[serde(flatten)]
    pub origin: HookOrigin,
    pub player: HookPlayer,
}

/// `onEvent`: a player sent a `server` event (docs/hooks/on-event.request.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRequest {
    pub version: u32,
    pub hook: String,
    #[serde(flatten)]
    pub origin: HookOrigin,
    pub event: String,
    pub player: HookPlayer,
    pub data: Value,
}

/// `onRoomCreated` and `onRoomClosed` (docs/hooks/on-room.request.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomRequest {
    pub version: u32,
    pub hook: String,
    #[serde(flatten)]
    pub origin: HookOrigin,
}

// ---- Answers ----

/// A refusal in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The `onJoin` answer (docs/hooks/on-join.response.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinAnswer {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<Reject>,
    /// Attached to the player: in its join ack, and in its `onEvent` requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, Value>>,
    /// The entity's first state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
}

/// One event an `onEvent` answer emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emit {
    pub event: String,
    /// `room`, `nearby` (around the sender) or `player` (`to`).
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// The `onEvent` answer (docs/hooks/on-event.response.schema.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventAnswer {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<Reject>,
    /// Sent back to the sender in its ack, as `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emit: Vec<Emit>,
}

/// Why an answer is unusable.
pub type AnswerError = String;

fn version_of(v: u32) -> Result<(), AnswerError> {
    if v == HOOK_VERSION {
        Ok(())
    } else {
        Err(format!("version {v} is not {HOOK_VERSION}"))
    }
}

fn check_reject(r: &Reject) -> Result<(), AnswerError> {
    if valid_code(&r.code) {
        Ok(())
    } else {
        Err(format!(
            "reject.code must be 1 to {MAX_CODE_CHARS} of a-z 0-9 _"
        ))
    }
}

/// Reads an `onJoin` answer; `max_state` bounds the state it may give.
pub fn read_join_answer(body: &[u8], max_state: usize) -> Result<JoinAnswer, AnswerError> {
    let a: JoinAnswer = serde_json::from_slice(body).map_err(|e| format!("not an answer: {e}"))?;
    version_of(a.version)?;
    if let Some(r) = &a.reject {
        check_reject(r)?;
    }
    if let Some(m) = &a.metadata
        && json_len(m) > MAX_PLAYER_METADATA_BYTES
    {
        return Err(format!(
            "metadata is over {MAX_PLAYER_METADATA_BYTES} bytes"
        ));
    }
    if let Some(s) = &a.state
        && json_len(s) > max_state
    {
        return Err(format!("state is over {max_state} bytes"));
    }
    Ok(a)
}

/// Reads an `onEvent` answer; `max_bytes` bounds each emitted payload.
pub fn read_event_answer(body: &[u8], max_bytes: usize) -> Result<EventAnswer, AnswerError> {
    let a: EventAnswer = serde_json::from_slice(body).map_err(|e| format!("not an answer: {e}"))?;
    version_of(a.version)?;
    if let Some(r) = &a.reject {
        check_reject(r)?;
    }
    if a.emit.len() > MAX_EMITS {
        return Err(format!("emit holds more than {MAX_EMITS} events"));
    }
    for (i, e) in a.emit.iter().enumerate() {
        let at = |m: String| format!("emit[{i}]: {m}");
        validate_event_name(&e.event).map_err(at)?;
        match (e.scope, &e.to) {
            (Scope::Server, _) => return Err(at("scope must be room, nearby or player".into())),
            (Scope::Player, None) => return Err(at("a player event needs to".into())),
            (Scope::Room | Scope::Nearby, Some(_)) => {
                return Err(at("only a player event names to".into()));
            }
            _ => {}
        }
        if json_len(&e.data) > max_bytes {
            return Err(at(format!("data is over {max_bytes} bytes")));
        }
    }
    if let Some(r) = &a.reply
        && json_len(r) > max_bytes
    {
        return Err(format!("reply is over {max_bytes} bytes"));
    }
    Ok(a)
}

fn json_len<T: Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// The `sha256=<hex>` signature of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests;
