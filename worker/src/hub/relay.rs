//! Custom events (`EVENTS`): a player's event, delivered as its declared scope says, with
//! the sender's public id as `from` and the payload as it was sent.
//!
//! - `room`: a room event like chat: numbered, kept in the room's log for resumes, and
//!   relayed to every worker hosting the room ([`super::broadcast`]).
//! - `nearby`: the players whose area of interest holds the sender, that is whose view
//!   shows it: the observers of the cells around the sender's cell. Every worker hosting
//!   the room makes that cut with its own replica, the one its players' views come from,
//!   so a `nearby` event reaches exactly those who see the sender, on any worker.
//! - `player`: one player of the room by public id, on whichever worker it is connected
//!   to. An id the room does not hold is refused `not_in_room`.
//! - `server`: the `onEvent` hook ([`crate::hooks`]), whose answer may emit events to the
//!   three scopes above, `from` [`FROM_SERVER`], and reply to the sender.

use super::broadcast::undelivered;
use super::room::{HostedRoom, cell_channel};
use super::{Hub, Player};
use crate::attached::{Attached, Bins};
use crate::config::GameEvents;
use crate::error::Rejection;
use crate::payload;
use roomshard_protocol::events::codes;
use roomshard_protocol::game_events::{EventDecl, Scope};
use roomshard_protocol::hooks::{Emit, FROM_SERVER};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

impl Hub {
    /// The game's declared custom events.
    pub fn events(&self) -> &GameEvents {
        &self.cfg.game.events
    }

    /// Delivers the custom event `decl` that `player` sent with `payload`; what the
    /// sender's ack carries as `data`, if anything (the `onEvent` hook's reply).
    pub async fn relay<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        player: &Player,
        decl: &EventDecl,
        payload: Attached,
    ) -> Result<Option<serde_json::Value>, Rejection> {
        let (room, event, from) = (&player.room, decl.name.as_str(), player.id.as_str());
        match decl.scope {
            Scope::Room => {
                let msg = relayed(from, payload.json, payload.bins);
                let sent = self.room_event(io, &room.name, event, &msg.json, msg.bins);
                sent.await.then_some(None).ok_or_else(undelivered)
            }
            Scope::Nearby => {
                let msg = relayed(from, payload.json, payload.bins);
                self.publish_nearby(io, room, event, from, &msg).await;
                Ok(None)
            }
            Scope::Player => {
                let (to, data) = payload::parse_addressed(payload.json)?;
                let msg = relayed(from, data, payload.bins);
                self.send_direct(io, room, event, &to, &msg).await?;
                Ok(None)
            }
            Scope::Server => {
                if !payload.bins.is_empty() {
                    return Err(Rejection::new(
                        codes::BAD_REQUEST,
                        format!("{event:?} goes to the onEvent hook, which takes JSON only"),
                    ));
                }
                let origin = (room.name.as_str(), room.track.as_str());
                let outcome = self
                    .hooks
                    .on_event(origin, event, player.hook_view(), payload.json)
                    .await?;
                for emit in outcome.emit {
                    self.emit_from_server(io, room, from, emit).await;
                }
                Ok(outcome.reply)
            }
        }
    }

    /// Emits an event the `onEvent` hook answered with, for the event `sender` sent:
    /// room-wide, around the sender, or to one player. A player the room no longer
    /// holds is skipped.
    async fn emit_from_server<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &HostedRoom,
        sender: &str,
        emit: Emit,
    ) {
        let msg = relayed(FROM_SERVER, emit.data, Bins::default());
        let event = emit.event.as_str();
        let delivered = match (emit.scope, emit.to) {
            (Scope::Room, _) => {
                self.room_event(io, &room.name, event, &msg.json, msg.bins)
                    .await
            }
            (Scope::Nearby, _) => {
                self.publish_nearby(io, room, event, sender, &msg).await;
                true
            }
            (Scope::Player, Some(to)) => self.send_direct(io, room, event, &to, &msg).await.is_ok(),
            _ => false,
        };
        if !delivered {
            tracing::debug!(room = %room.name, event, "a hook's event was not delivered");
        }
    }

    /// Sends a `nearby` event of `from` to the other workers and delivers it here.
    async fn publish_nearby<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &HostedRoom,
        event: &str,
        from: &str,
        msg: &Attached,
    ) {
        if let Some(sync) = &self.sync {
            sync.publish_nearby(&room.name, event, from, msg);
        }
        self.deliver_nearby(io, room, event, from, msg).await;
    }

    /// Emits a `nearby` event of `from` to this worker's players whose view shows `from`.
    pub(super) async fn deliver_nearby<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &HostedRoom,
        event: &str,
        from: &str,
        msg: &Attached,
    ) {
        let cells = {
            let state = room.state.lock().await;
            if state.closed {
                return;
            }
            state.replica.observed_cells_around(from)
        };
        // No rooms at all would mean every socket of the namespace.
        if cells.is_empty() {
            return;
        }
        let rooms: Vec<String> = cells
            .into_iter()
            .map(|c| cell_channel(&room.name, c))
            .collect();
        self.metrics.event_out(event);
        // A receiver whose queue is full misses it, as it misses a view batch.
        let _ = io.local().to(rooms).emit(event, msg).await;
    }

    /// Sends a `player` event to `to`: here when it is this worker's player, else through
    /// room sync to the worker it is on. Refused when the room holds no such player.
    async fn send_direct<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &HostedRoom,
        event: &str,
        to: &str,
        msg: &Attached,
    ) -> Result<(), Rejection> {
        let member = {
            let state = room.state.lock().await;
            !state.closed && state.replica.is_member(to)
        };
        if !member {
            return Err(Rejection::new(
                codes::NOT_IN_ROOM,
                format!("{to:?} is not a player of this room"),
            ));
        }
        if !self.deliver_direct(io, &room.name, event, to, msg)
            && let Some(sync) = &self.sync
        {
            sync.publish_direct(&room.name, event, to, msg);
        }
        Ok(())
    }

    /// Emits a `player` event to `to` when it is this worker's player of `room`; false when
    /// it is not. A player whose connection is down misses it, as it misses views.
    pub(super) fn deliver_direct<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        event: &str,
        to: &str,
        msg: &Attached,
    ) -> bool {
        if self.players.get(to).is_none_or(|p| p.room.name != room) {
            return false;
        }
        if let Some(s) = self.socket_of(io, to) {
            self.metrics.event_out(event);
            let _ = s.emit(event, msg);
        }
        true
    }
}

/// What the receivers of a custom event get: `{from, data}`
/// ([`Relayed`](roomshard_protocol::game_events::Relayed); the room's log
/// adds `seq` to a `room` event).
fn relayed(from: &str, data: serde_json::Value, bins: Bins) -> Attached {
    let mut json = serde_json::Map::new();
    json.insert("from".into(), from.into());
    json.insert("data".into(), data);
    Attached {
        json: json.into(),
        bins,
    }
}
