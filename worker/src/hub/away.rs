//! A dropped player held for its resume window, and its resume.
//!
//! When a player's connection drops, the player keeps its seat, its entity (where it
//! stood) and its public id for the resume window; the room is told it is `away`. A new
//! connection that presents the player's resume credential within the window takes the
//! player over: same id, same room, a fresh view of its area, and every room event it
//! missed. When the window runs out the player leaves, exactly as if it had left.
//!
//! Every step locks the player's [`Link`](super::players::Link) first, so a disconnect,
//! a resume, the expiry and a leave happen one at a time, and each checks that the
//! player is still where it saw it.

use super::Hub;
use super::broadcast::Change;
use super::players::{Link, Player};
use super::room::{cell_channel, room_channel};
use crate::attached::Attached;
use crate::error::Rejection;
use crate::room_log::Unreplayable;
use roomshard_protocol::events::{MissedEvent, ResumeOk, codes};
use roomshard_protocol::token::new_nonce;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use std::sync::Arc;

impl Hub {
    /// The socket `sid` that carried `player` is gone. With `hold`, the player is held
    /// for the resume window; otherwise (no window, or the worker shutting down) it
    /// leaves now.
    pub async fn disconnected<A: Adapter>(
        self: &Arc<Self>,
        io: &SocketIo<A>,
        player: Arc<Player>,
        sid: Sid,
        hold: bool,
    ) {
        let window = self.cfg.resume.window;
        if !hold || window.is_zero() {
            self.depart(io, &player, None, |l| l.socket == Some(sid))
                .await;
            return;
        }
        let mut link = player.link.lock().await;
        if link.gone || link.socket != Some(sid) {
            return;
        }
        link.socket = None;
        link.generation += 1;
        let generation = link.generation;
        self.players.set_socket(&player.id, None);
        drop(link);
        self.metrics.players_away.inc();
        let away = Change {
            away: vec![player.id.clone()],
            ..Change::default()
        };
        self.presence_now(io, &player, away).await;
        let (hub, io) = (self.clone(), io.clone());
        tokio::spawn(async move {
            tokio::time::sleep(window).await;
            hub.expire(&io, &player, generation).await;
        });
    }

    /// The window of the absence `generation` ran out: the player leaves, unless it
    /// resumed (or left) meanwhile.
    pub(super) async fn expire<A: Adapter>(
        self: &Arc<Self>,
        io: &SocketIo<A>,
        player: &Arc<Player>,
        generation: u64,
    ) {
        let still_away = |l: &Link| l.socket.is_none() && l.generation == generation;
        if self.depart(io, player, None, still_away).await {
            self.metrics.resumes.with_label_values(&["expired"]).inc();
            tracing::debug!(player = %player.id, "resume window over; player left");
        }
    }

    /// Lets every away player go now (the worker is shutting down).
    pub async fn release_away<A: Adapter>(self: &Arc<Self>, io: &SocketIo<A>) {
        for player in self.players.all() {
            self.depart(io, &player, None, |l| l.socket.is_none()).await;
        }
    }

    /// Moves `player` onto `socket`, if the credential's `nonce` is still the player's:
    /// the ack (the join ack's shape, a new credential, and the room events after
    /// `last_seq`) is sent from here, through `send`. Returns the socket that carried the
    /// player until now, when its connection had not yet been seen to drop.
    pub async fn resume<A: Adapter>(
        self: &Arc<Self>,
        io: &SocketIo<A>,
        socket: &SocketRef<A>,
        player: &Arc<Player>,
        (nonce, last_seq): (&str, u64),
        send: impl FnOnce(&ResumeOk<Attached>),
    ) -> Result<Option<Sid>, Rejection> {
        let mut link = player.link.lock().await;
        if link.gone {
            return Err(expired());
        }
        if link.nonce != nonce {
            return Err(Rejection::new(
                codes::RESUME_INVALID,
                "this resume credential was already used",
            ));
        }
        let room = &player.room;
        let state = room.state.lock().await;
        let cell = state.replica.observer_cell(&player.id);
        let (Some(cell), false) = (cell, state.closed) else {
            return Err(Rejection::new(codes::ROOM_CLOSED, "the room is closed"));
        };
        let missed = match state.log.since(last_seq) {
            Ok(missed) => missed,
            Err(Unreplayable::Ahead { last }) => {
                return Err(Rejection::new(
                    codes::RESUME_INVALID,
                    format!("lastSeq {last_seq} was never sent; the room is at {last}"),
                ));
            }
            Err(Unreplayable::Gap { oldest }) => {
                // The client reserves again; its old seat must not linger until the
                // window runs out.
                let held = link.socket;
                drop(state);
                drop(link);
                self.depart(io, player, None, |l| l.socket == held).await;
                if let Some(old) = held.and_then(|sid| io.get_socket(sid)) {
                    let _ = old.disconnect();
                }
                return Err(Rejection::new(
                    codes::REPLAY_GAP,
                    format!(
                        "the room keeps events from {oldest} on; {} were missed since \
                         {last_seq}: reserve again",
                        oldest.saturating_sub(last_seq + 1)
                    ),
                ));
            }
        };
        let nonce = new_nonce();
        link.nonce.clone_from(&nonce);
        link.generation += 1;
        let replaced = link.socket.replace(socket.id);
        self.players.set_socket(&player.id, Some(socket.id));
        socket.join([room_channel(&room.name), cell_channel(&room.name, cell)]);
        let players = u32::try_from(state.replica.entity_count()).unwrap_or(u32::MAX);
        let view = state.replica.view_around(cell);
        let join = self.join_ack(
            &room.name,
            &player.id,
            players,
            view,
            &nonce,
            state.log.last_seq(),
            player.profile.metadata.clone(),
        );
        let missed = missed
            .into_iter()
            .map(|e| MissedEvent {
                event: e.event,
                data: Attached {
                    json: (*e.data).clone(),
                    bins: e.bins,
                },
            })
            .collect();
        // Sent under the room's lock: nothing emitted to the room comes between the
        // replayed events and the live ones.
        send(&ResumeOk { join, missed });
        drop(state);
        drop(link);
        if replaced.is_none() {
            self.metrics.players_away.dec();
        }
        let back = Change {
            back: vec![player.id.clone()],
            ..Change::default()
        };
        self.presence_now(io, player, back).await;
        Ok(replaced)
    }

    /// A presence change of `player` that leaves the seat count as it is.
    async fn presence_now<A: Adapter>(&self, io: &SocketIo<A>, player: &Player, change: Change) {
        let players = player.room.state.lock().await.replica.entity_count();
        let players = u32::try_from(players).unwrap_or(u32::MAX);
        self.presence(io, &player.room.name, players, change).await;
    }
}

/// The player is no longer held here.
pub fn expired() -> Rejection {
    Rejection::new(
        codes::RESUME_EXPIRED,
        "the resume window is over; reserve again",
    )
}
