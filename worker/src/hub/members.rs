//! The hub's part of a join and a leave: the seat taken in the registry, the player placed
//! in the room's replica and its cell's Socket.IO room, and the reverse. The order of the
//! steps is the socket layer's (`socket/join.rs`, `socket/leave.rs`).

use super::Hub;
use super::broadcast::Change;
use super::players::{Link, Player};
use super::room::{HostedRoom, cell_channel, room_channel};
use crate::admission::SeatRequest;
use crate::error::Rejection;
use crate::seats::{CloseOutcome, Seat};
use roomshard_protocol::events::EntityView;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use std::sync::Arc;

impl Hub {
    /// Takes a seat in `room` in the registry, as admission decided.
    pub async fn take_seat(&self, room: &str, request: &SeatRequest) -> Result<Seat, Rejection> {
        match request {
            SeatRequest::Reserved { nonce, .. } => self.seats.join_reserved(room, nonce).await,
            SeatRequest::Open => {
                self.seats
                    .join_open(room, &self.cfg.default_track, self.cfg.room_capacity)
                    .await
            }
        }
    }

    /// Places the player `id`, named `name`, on `socket` in `room_name` at a random
    /// position; it observes from now on. `seated` is handed the room, the view the player
    /// starts from and the room's last event number, under the room's lock.
    pub async fn place<A: Adapter>(
        &self,
        socket: &SocketRef<A>,
        room_name: &str,
        (id, name): (&str, &str),
        seat: &Seat,
        seated: impl FnOnce(&Arc<HostedRoom>, &[EntityView], u64),
    ) {
        let x = rand::random::<f32>() * self.grid.width() as f32;
        let y = rand::random::<f32>() * self.grid.height() as f32;
        loop {
            let room = self.host(room_name, &seat.track).await;
            let mut state = room.state.lock().await;
            if state.closed {
                // Being taken out of the hub by a leave; host it anew.
                drop(state);
                tokio::task::yield_now().await;
                continue;
            }
            let (cell, view) = state.replica.join_local(id, x, y, name);
            socket.join([room_channel(room_name), cell_channel(room_name, cell)]);
            // Answered under the room's lock: the client has its starting view before
            // any batch that builds on it, and every room event after the number given.
            seated(&room, &view, state.log.last_seq());
            drop(state);
            self.metrics.players.inc();
            return;
        }
    }

    /// The player leaves for good: it is forgotten, taken out of its room and its seat
    /// given back, and the room told. Only if `still` holds of the player's link (the
    /// caller's view of where the player is); false, doing nothing, when it does not or
    /// the player is already gone.
    pub async fn depart<A: Adapter>(
        self: &Arc<Self>,
        io: &SocketIo<A>,
        player: &Arc<Player>,
        socket: Option<&SocketRef<A>>,
        still: impl FnOnce(&Link) -> bool,
    ) -> bool {
        let mut link = player.link.lock().await;
        if link.gone || !still(&link) {
            return false;
        }
        link.gone = true;
        let was_away = link.socket.is_none();
        drop(link);
        self.players.remove(player);
        if was_away {
            self.metrics.players_away.dec();
        }
        self.remove(socket, &player.id, &player.room).await;
        self.release_seat(io, &player.id, &player.room.name, &player.track)
            .await;
        true
    }

    /// Takes the player `id` (and its socket, when it has one) out of `room`; the room
    /// stops being hosted when it was the last local player.
    async fn remove<A: Adapter>(
        &self,
        socket: Option<&SocketRef<A>>,
        id: &str,
        room: &Arc<HostedRoom>,
    ) {
        let mut state = room.state.lock().await;
        if let Some(cell) = state.replica.leave_local(id) {
            self.metrics.players.dec();
            if let Some(socket) = socket {
                socket.leave([room_channel(&room.name), cell_channel(&room.name, cell)]);
            }
        }
        room.forget_move(id);
        if state.replica.local_count() == 0 && !state.closed {
            state.closed = true;
            // The last tick publishes the departures to the other workers.
            let out = state.replica.tick();
            drop(state);
            self.unhost(room, out.outgoing).await;
        }
    }

    /// Frees the seat in the registry, tells the room, and closes it after the grace
    /// period when it stays empty.
    async fn release_seat<A: Adapter>(
        self: &Arc<Self>,
        io: &SocketIo<A>,
        id: &str,
        room: &str,
        track: &str,
    ) {
        if let Some(players) = self.give_back_seat(room, track).await {
            let left = vec![id.to_owned()];
            let change = Change {
                left,
                ..Change::default()
            };
            self.presence(io, room, players, change).await;
        }
    }

    /// Frees a seat in the registry, and closes the room after the grace period when it
    /// stays empty (telling `onRoomClosed`). The players left, when known.
    pub async fn give_back_seat(self: &Arc<Self>, room: &str, track: &str) -> Option<u32> {
        let players = self.seats.leave(room).await?;
        if players == 0 {
            let hub = self.clone();
            let (room, track) = (room.to_owned(), track.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(hub.cfg.room_empty_grace).await;
                if hub.hosted(&room).is_some() {
                    return;
                }
                match hub.seats.close_if_empty(&room, &track).await {
                    CloseOutcome::Closed => {
                        tracing::info!(room, "closed empty room");
                        hub.hooks.room_closed(&room, &track);
                    }
                    CloseOutcome::Gone => {}
                    CloseOutcome::StillInUse => {
                        tracing::debug!(room, "room in use again; kept")
                    }
                }
            });
        }
        Some(players)
    }
}
