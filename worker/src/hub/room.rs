//! One hosted room: its replica under a lock, and the inbox of changes that arrive between
//! two ticks. Also the names of the Socket.IO rooms a game room uses.

use crate::grid::{Cell, Grid};
use crate::interest::RoomReplica;
use crate::room_log::RoomLog;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The Socket.IO room of everyone in a game room (presence and chat).
pub fn room_channel(room: &str) -> String {
    format!("r:{room}")
}

/// The Socket.IO room of one cell of a game room.
pub fn cell_channel(room: &str, cell: Cell) -> String {
    format!("c:{room}:{}:{}", cell.x, cell.y)
}

/// Locks a mutex whose holder may have panicked: the data it guards stays usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Changes that arrive between ticks, taken by the next one.
#[derive(Default)]
pub struct Inbox {
    /// The last position each local player asked for, and when its first move of the tick
    /// arrived (for latency accounting).
    pub moves: HashMap<String, (f32, f32, Instant)>,
    /// The last entity state each local player set.
    pub states: HashMap<String, serde_json::Value>,
    /// Another worker asked for this worker's entities of the room.
    pub snapshot_requested: bool,
}

/// A room with at least one player on this worker.
pub struct HostedRoom {
    pub name: String,
    pub track: String,
    pub(super) state: tokio::sync::Mutex<RoomState>,
    pub(super) inbox: Mutex<Inbox>,
}

/// What a hosted room's lock guards.
pub struct RoomState {
    pub replica: RoomReplica,
    /// The room events delivered here, numbered, for resumes to replay.
    pub log: RoomLog,
    /// Taken out of the hub: a join that finds this must host the room anew.
    pub closed: bool,
    /// The other workers hosting the room, and when each last published.
    pub peers: HashMap<String, Instant>,
    pub last_published: Instant,
}

impl HostedRoom {
    /// A room that keeps its last `log_capacity` room events.
    pub fn new(name: &str, track: &str, grid: Grid, log_capacity: usize) -> Self {
        Self {
            name: name.to_owned(),
            track: track.to_owned(),
            state: tokio::sync::Mutex::new(RoomState {
                replica: RoomReplica::new(grid),
                log: RoomLog::new(log_capacity),
                closed: false,
                peers: HashMap::new(),
                last_published: Instant::now(),
            }),
            inbox: Mutex::new(Inbox::default()),
        }
    }

    /// Queues a local player's move for the next tick; only its last position counts.
    pub fn queue_move(&self, id: &str, x: f32, y: f32) {
        let mut inbox = lock(&self.inbox);
        let first = inbox.moves.get(id).map_or_else(Instant::now, |m| m.2);
        inbox.moves.insert(id.to_owned(), (x, y, first));
    }

    /// Queues a local player's entity state for the next tick; only its last one counts.
    pub fn queue_state(&self, id: &str, state: serde_json::Value) {
        lock(&self.inbox).states.insert(id.to_owned(), state);
    }

    /// Answers another worker's snapshot request on the next tick.
    pub(super) fn request_snapshot(&self) {
        lock(&self.inbox).snapshot_requested = true;
    }

    /// Forgets a departed player's queued move and state.
    pub(super) fn forget_move(&self, id: &str) {
        let mut inbox = lock(&self.inbox);
        inbox.moves.remove(id);
        inbox.states.remove(id);
    }

    /// Everything that arrived since the last tick.
    pub(super) fn take_inbox(&self) -> Inbox {
        std::mem::take(&mut *lock(&self.inbox))
    }
}
