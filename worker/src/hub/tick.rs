//! The tick: every `1/TICK_HZ` each hosted room applies the moves and entity states queued
//! since the last tick, publishes this worker's changes to the other workers, and sends
//! the view batches to its observed cells.

use super::Hub;
use super::room::{HostedRoom, RoomState, cell_channel};
use crate::interest::TickOutput;
use crate::room_sync::SyncLink;
use roomshard_protocol::events;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{BroadcastError, SocketIo};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A worker that published nothing for a room this long is taken for gone, and its
/// entities are removed from the replica.
const PEER_SILENCE: Duration = Duration::from_secs(5);
/// A worker publishes at least this often for each room it hosts, changes or not.
const KEEPALIVE: Duration = Duration::from_secs(1);

/// Publishes this worker's changes of a tick to a room. With `keepalive`, an empty delta
/// goes out too once KEEPALIVE has passed since the last publish.
pub(super) fn publish_outgoing(
    sync: &SyncLink,
    room: &str,
    state: &mut RoomState,
    out: &mut TickOutput,
    now: Instant,
    keepalive: bool,
) {
    let due = keepalive && now.duration_since(state.last_published) >= KEEPALIVE;
    if out.outgoing.is_empty() && !due {
        return;
    }
    sync.publish_delta(room, std::mem::take(&mut out.outgoing));
    state.last_published = now;
}

impl Hub {
    /// Runs ticks until the process ends.
    pub async fn run_ticks<A: Adapter>(self: Arc<Self>, io: SocketIo<A>) {
        let mut interval = tokio::time::interval(self.cfg.world.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let started = Instant::now();
            for room in self.hosted_rooms() {
                self.tick_room(&io, &room).await;
            }
            self.metrics
                .tick_duration
                .observe(started.elapsed().as_secs_f64());
        }
    }

    async fn tick_room<A: Adapter>(&self, io: &SocketIo<A>, room: &HostedRoom) {
        let mut state = room.state.lock().await;
        if state.closed {
            return;
        }
        let inbox = room.take_inbox();
        let now = Instant::now();
        let mut received: HashMap<String, Instant> = HashMap::with_capacity(inbox.moves.len());
        for (id, (x, y, at)) in inbox.moves {
            state.replica.move_local(&id, x, y);
            received.insert(id, at);
        }
        for (id, blob) in inbox.states {
            state.replica.set_state_local(&id, blob);
        }
        forget_silent_peers(&room.name, &mut state, now);
        let mut out = state.replica.tick();
        // Other workers first: their players' views wait on this publish plus their own
        // emit, ours only on the emit below.
        if let Some(sync) = &self.sync {
            if inbox.snapshot_requested {
                sync.publish_snapshot(&room.name, state.replica.local_snapshot());
                state.last_published = now;
            }
            publish_outgoing(sync, &room.name, &mut state, &mut out, now, true);
        }
        self.emit_view(io, &room.name, &out).await;
        let emitted = Instant::now();
        for id in &out.moved_local {
            if let Some(at) = received.get(id) {
                self.metrics
                    .fanout_latency
                    .observe(emitted.duration_since(*at).as_secs_f64());
            }
        }
    }

    /// Sends a tick's view batches to the observed cells and to the observers that
    /// crossed into another cell, moving those into their new cell's room.
    pub(super) async fn emit_view<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        out: &TickOutput,
    ) {
        for c in &out.crossers {
            if let Some(s) = self.socket_of(io, &c.id) {
                s.leave(cell_channel(room, c.from));
            }
        }
        for (cell, batch) in &out.cell_batches {
            self.metrics.view_batches.inc();
            self.metrics.event_out(events::VIEW);
            self.metrics
                .view_batch_entities
                .observe((batch.moved.len() + batch.entered.len() + batch.left.len()) as f64);
            if let Err(BroadcastError::Socket(missed)) = io
                .local()
                .to(cell_channel(room, *cell))
                .emit(events::VIEW, batch)
                .await
            {
                self.metrics.view_dropped.inc_by(missed.len() as u64);
            }
        }
        for c in &out.crossers {
            if let Some(s) = self.socket_of(io, &c.id) {
                if !c.batch.is_empty() {
                    self.metrics.view_batches.inc();
                    self.metrics.event_out(events::VIEW);
                    if s.emit(events::VIEW, &c.batch).is_err() {
                        self.metrics.view_dropped.inc();
                    }
                }
                s.join(cell_channel(room, c.to));
            }
        }
    }
}

/// Removes the entities of the workers that have not published for the room in
/// PEER_SILENCE.
fn forget_silent_peers(room: &str, state: &mut RoomState, now: Instant) {
    let silent: Vec<String> = state
        .peers
        .iter()
        .filter(|(_, seen)| now.duration_since(**seen) > PEER_SILENCE)
        .map(|(w, _)| w.clone())
        .collect();
    for w in silent {
        tracing::info!(room, worker = %w, "peer worker fell silent; dropping its entities");
        state.peers.remove(&w);
        state.replica.drop_owner(&w);
    }
}

impl Hub {
    /// The local socket of the player `id`, if it is connected.
    pub(super) fn socket_of<A: Adapter>(&self, io: &SocketIo<A>, id: &str) -> Option<SocketRef<A>> {
        io.get_socket(self.players.socket_of(id)?)
    }
}
