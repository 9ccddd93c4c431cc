//! Server hooks (`HOOKS`): HTTP webhooks to the game's backend, after Centrifugo's proxy.
//! `onJoin` may refuse a join or attach player metadata and the entity's first state;
//! `onEvent` takes `server` events and may answer with events to emit or a refusal;
//! `onRoomCreated` and `onRoomClosed` tell the backend a room began or ended.
//!
//! Each hook has its deadline, its concurrency, its circuit breaker ([`breaker`]) and its
//! failure mode ([`call`]); a hook that fails harms no one but the player it was called
//! for. docs/PROTOCOL.md ("Server hooks") is the contract; the payloads are
//! `roomshard_protocol::hooks`.

mod breaker;
mod call;

use crate::config::{Config, GameEvents};
use crate::error::Rejection;
use crate::metrics::Metrics;
use call::{CallFailure, Caller, Hook};
use roomshard_protocol::events::codes;
use roomshard_protocol::hooks::{
    self as wire, Emit, EventRequest, Failure, HOOK_VERSION, HookName, HookOrigin, HookPlayer,
    JoinRequest, RoomRequest,
};
use serde_json::Value;
use std::sync::Arc;

/// What `onJoin` gave the player.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinExtras {
    pub metadata: Option<Value>,
    pub state: Option<Value>,
}

/// What `onEvent` answered: the sender's ack data and the events to emit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventOutcome {
    pub reply: Option<Value>,
    pub emit: Vec<Emit>,
}

/// The configured hooks of this worker.
pub struct Hooks {
    caller: Option<Caller>,
    on_join: Option<Hook>,
    on_event: Option<Hook>,
    on_room_created: Option<Hook>,
    on_room_closed: Option<Hook>,
    set: String,
    shard: u32,
    max_state_bytes: usize,
    max_message_bytes: usize,
    /// The names an `onEvent` answer may emit: the declared ones, which every worker of
    /// the set relays.
    events: GameEvents,
}

impl Hooks {
    pub fn new(cfg: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let decls = &cfg.game.hooks;
        let hook = |name: HookName| {
            decls
                .get(name)
                .map(|d| Hook::new(name, d))
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        let caller = if decls.is_empty() {
            None
        } else {
            Some(Caller {
                client: roomshard_runtime::http_client::HttpClient::new()?,
                secret: cfg.game.hook_secret.clone(),
                metrics,
            })
        };
        Ok(Self {
            caller,
            on_join: hook(HookName::OnJoin)?,
            on_event: hook(HookName::OnEvent)?,
            on_room_created: hook(HookName::OnRoomCreated)?,
            on_room_closed: hook(HookName::OnRoomClosed)?,
            set: cfg.keys.set().to_owned(),
            shard: cfg.shard.index(),
            max_state_bytes: cfg.game.max_state_bytes,
            max_message_bytes: cfg.limits.max_message_bytes as usize,
            events: cfg.game.events.clone(),
        })
    }

    fn origin(&self, room: &str, track: Option<&str>) -> HookOrigin {
        HookOrigin {
            set: self.set.clone(),
            shard: self.shard,
            room: room.to_owned(),
            track: track.map(str::to_owned),
        }
    }

    /// `onJoin` for `player` about to take a seat in `room`; nothing to add when the hook
    /// is not configured, or fails open.
    pub async fn on_join(&self, room: &str, player: HookPlayer) -> Result<JoinExtras, Rejection> {
        let (Some(caller), Some(hook)) = (&self.caller, &self.on_join) else {
            return Ok(JoinExtras::default());
        };
        let request = JoinRequest {
            version: HOOK_VERSION,
            hook: hook.name.as_str().into(),
            origin: self.origin(room, None),
            player,
        };
        let max_state = self.max_state_bytes;
        match hook
            .call(caller, &request, |b| wire::read_join_answer(b, max_state))
            .await
        {
            Ok(a) => match a.reject {
                Some(r) => Err(rejected(r)),
                None => Ok(JoinExtras {
                    metadata: a.metadata.map(Value::Object),
                    state: a.state,
                }),
            },
            Err(e) => failed(hook, e).map(|()| JoinExtras::default()),
        }
    }

    /// `onEvent` for the `server` event `event` that `player` sent in `room` with `data`.
    pub async fn on_event(
        &self,
        (room, track): (&str, &str),
        event: &str,
        player: HookPlayer,
        data: Value,
    ) -> Result<EventOutcome, Rejection> {
        let (Some(caller), Some(hook)) = (&self.caller, &self.on_event) else {
            return Err(Rejection::new(
                codes::BAD_REQUEST,
                format!("{event:?} is for the onEvent hook, which is not configured"),
            ));
        };
        let request = EventRequest {
            version: HOOK_VERSION,
            hook: hook.name.as_str().into(),
            origin: self.origin(room, Some(track)),
            event: event.to_owned(),
            player,
            data,
        };
        let max = self.max_message_bytes;
        let read = |b: &[u8]| {
            let a = wire::read_event_answer(b, max)?;
            match a.emit.iter().find(|e| self.events.get(&e.event).is_none()) {
                Some(e) => Err(format!("emit names {:?}, which is not declared", e.event)),
                None => Ok(a),
            }
        };
        match hook.call(caller, &request, read).await {
            Ok(a) => match a.reject {
                Some(r) => Err(rejected(r)),
                None => Ok(EventOutcome {
                    reply: a.reply,
                    emit: a.emit,
                }),
            },
            Err(e) => failed(hook, e).map(|()| EventOutcome::default()),
        }
    }

    /// `onRoomCreated`, for the first seat ever taken in `room`. Fail-open, it goes out
    /// in the background and the join does not wait; fail-closed, the join waits for it
    /// and is refused when it fails.
    pub async fn room_created(self: &Arc<Self>, room: &str, track: &str) -> Result<(), Rejection> {
        let Some(hook) = &self.on_room_created else {
            return Ok(());
        };
        let origin = self.origin(room, Some(track));
        if hook.failure == Failure::Open {
            let hooks = self.clone();
            tokio::spawn(async move { hooks.notify(HookName::OnRoomCreated, origin).await });
            return Ok(());
        }
        self.notify(HookName::OnRoomCreated, origin).await
    }

    /// `onRoomClosed`, once the room has left the registry; in the background.
    pub fn room_closed(self: &Arc<Self>, room: &str, track: &str) {
        if self.on_room_closed.is_none() {
            return;
        }
        let origin = self.origin(room, Some(track));
        let hooks = self.clone();
        tokio::spawn(async move {
            let _ = hooks.notify(HookName::OnRoomClosed, origin).await;
        });
    }

    async fn notify(&self, name: HookName, origin: HookOrigin) -> Result<(), Rejection> {
        let hook = match name {
            HookName::OnRoomCreated => &self.on_room_created,
            _ => &self.on_room_closed,
        };
        let (Some(caller), Some(hook)) = (&self.caller, hook) else {
            return Ok(());
        };
        let request = RoomRequest {
            version: HOOK_VERSION,
            hook: name.as_str().into(),
            origin,
        };
        // The answer's body is not read: any 2xx will do.
        match hook.call(caller, &request, |_| Ok(())).await {
            Ok(()) => Ok(()),
            Err(e) => failed(hook, e),
        }
    }
}

/// The refusal a hook answered with: `hook_rejected`, the game's code as its reason.
fn rejected(r: wire::Reject) -> Rejection {
    let message: String = r.message.chars().take(wire::MAX_MESSAGE_CHARS).collect();
    let message = if message.is_empty() {
        format!("refused by the game: {}", r.code)
    } else {
        message
    };
    Rejection::new(codes::HOOK_REJECTED, message).with_reason(r.code)
}

/// What a failed call does: nothing when the hook fails open, `hook_failed` when it fails
/// closed. The message says why in general terms only.
fn failed(hook: &Hook, e: CallFailure) -> Result<(), Rejection> {
    match hook.failure {
        Failure::Open => Ok(()),
        Failure::Closed => Err(Rejection::new(
            codes::HOOK_FAILED,
            format!(
                "the game's {} hook gave no usable answer ({}); try again",
                hook.name.as_str(),
                e.outcome()
            ),
        )),
    }
}
