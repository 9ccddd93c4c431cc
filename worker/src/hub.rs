//! The rooms this worker hosts: their replicas, the tick that turns queued changes into
//! view batches, the room sync with other workers, and joins and leaves.

use crate::config::Config;
use crate::grid::{Cell, Grid};
use crate::interest::{RoomView, SyncOp, TickOutput};
use crate::limits::Rejection;
use crate::metrics::Metrics;
use crate::seats::{CloseOutcome, Seat, Seats};
use crate::sync::{SyncLink, SyncMessage, room_of};
use roomshard_protocol::events::{self, EntityView, Presence, codes};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{BroadcastError, SocketIo};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A worker that published nothing for a room this long is taken for gone, and its
/// entities are removed from the replica.
const PEER_SILENCE: Duration = Duration::from_secs(5);
/// A worker publishes at least this often for each room it hosts, changes or not.
const KEEPALIVE: Duration = Duration::from_secs(1);

/// The Socket.IO room of everyone in a game room (presence and chat).
pub fn room_channel(room: &str) -> String {
    format!("r:{room}")
}

/// The Socket.IO room of one cell of a game room.
pub fn cell_channel(room: &str, cell: Cell) -> String {
    format!("c:{room}:{}:{}", cell.x, cell.y)
}

/// Changes that arrive between ticks, taken by the next one.
#[derive(Default)]
struct Inbox {
    moves: HashMap<String, (f32, f32, Instant)>,
    snapshot_requested: bool,
}

/// A room with at least one player on this worker.
pub struct HostedRoom {
    pub name: String,
    pub track: String,
    view: tokio::sync::Mutex<RoomState>,
    inbox: Mutex<Inbox>,
}

struct RoomState {
    view: RoomView,
    /// Taken out of the hub: a join that finds this must host the room anew.
    closed: bool,
    peers: HashMap<String, Instant>,
    last_published: Instant,
}

/// Publishes this worker's changes of a tick to a room. With `keepalive`, an empty delta
/// goes out too once KEEPALIVE has passed since the last publish.
fn publish_outgoing(
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
    sync.publish(
        room,
        &SyncMessage::Delta {
            w: sync.worker.clone(),
            ops: std::mem::take(&mut out.outgoing),
        },
    );
    state.last_published = now;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct Hub<A: Adapter> {
    pub io: SocketIo<A>,
    pub cfg: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub grid: Grid,
    pub seats: Seats,
    pub sync: Option<SyncLink>,
    rooms: Mutex<HashMap<String, Arc<HostedRoom>>>,
    /// Set by this process's own shutdown.
    draining: AtomicBool,
    /// Set while the operator lists this shard in the set's `draining` set (scale-down).
    marked_draining: AtomicBool,
    /// Leaves whose seat is not yet given back in the registry; shutdown waits for them.
    releasing: AtomicUsize,
}

/// Counts one leave in progress until dropped.
pub struct Releasing<'a>(&'a AtomicUsize);

impl Drop for Releasing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a successful join hands back to the socket layer.
pub struct Joined {
    pub room: Arc<HostedRoom>,
}

impl<A: Adapter> Hub<A> {
    pub fn new(
        io: SocketIo<A>,
        cfg: Arc<Config>,
        metrics: Arc<Metrics>,
        seats: Seats,
        sync: Option<SyncLink>,
    ) -> anyhow::Result<Arc<Self>> {
        let grid = Grid::with_reach(
            cfg.world.width,
            cfg.world.height,
            cfg.world.radius,
            cfg.world.reach,
        )?;
        Ok(Arc::new(Self {
            io,
            cfg,
            metrics,
            grid,
            seats,
            sync,
            rooms: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            marked_draining: AtomicBool::new(false),
            releasing: AtomicUsize::new(0),
        }))
    }

    /// Draining refuses new joins; players already in keep playing until they leave or
    /// the drain ends.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst) || self.marked_draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.metrics.draining.set(1);
    }

    /// Follows the operator's mark; returns true when the shard has just become marked.
    pub fn set_marked_draining(&self, marked: bool) -> bool {
        let was = self.marked_draining.swap(marked, Ordering::SeqCst);
        self.metrics.draining.set(i64::from(self.is_draining()));
        marked && !was
    }

    /// Rooms hosted, local players, and the tracks of the hosted rooms.
    pub fn load(&self) -> (u32, u32, Vec<String>) {
        let rooms = lock(&self.rooms);
        let players = self.metrics.players.get();
        let mut tracks: Vec<String> = rooms.values().map(|r| r.track.clone()).collect();
        tracks.sort();
        tracks.dedup();
        (
            u32::try_from(rooms.len()).unwrap_or(u32::MAX),
            u32::try_from(players.max(0)).unwrap_or(u32::MAX),
            tracks,
        )
    }

    async fn host(&self, name: &str, track: &str) -> Arc<HostedRoom> {
        if let Some(room) = lock(&self.rooms).get(name) {
            return room.clone();
        }
        let room = Arc::new(HostedRoom {
            name: name.to_owned(),
            track: track.to_owned(),
            view: tokio::sync::Mutex::new(RoomState {
                view: RoomView::new(self.grid),
                closed: false,
                peers: HashMap::new(),
                last_published: Instant::now(),
            }),
            inbox: Mutex::new(Inbox::default()),
        });
        let room = {
            let mut rooms = lock(&self.rooms);
            let entry = rooms.entry(name.to_owned()).or_insert_with(|| room.clone());
            if !Arc::ptr_eq(entry, &room) {
                return entry.clone();
            }
            self.metrics
                .rooms
                .set(i64::try_from(rooms.len()).unwrap_or(i64::MAX));
            room
        };
        if let Some(sync) = &self.sync
            && sync.subscribe(name).await
        {
            sync.publish(
                name,
                &SyncMessage::SnapshotRequest {
                    w: sync.worker.clone(),
                },
            );
        }
        room
    }

    /// Seats the socket `id` in `room` at a random position and starts observing.
    pub async fn join(
        &self,
        socket: &SocketRef<A>,
        room_name: &str,
        name: &str,
        seat: Seat,
        seated: impl FnOnce(&[EntityView]),
    ) -> Joined {
        let id = socket.id.to_string();
        let x = rand::random::<f32>() * self.grid.width() as f32;
        let y = rand::random::<f32>() * self.grid.height() as f32;
        loop {
            let room = self.host(room_name, &seat.track).await;
            let mut state = room.view.lock().await;
            if state.closed {
                // Being taken out of the hub by a leave; host it anew.
                drop(state);
                tokio::task::yield_now().await;
                continue;
            }
            let (cell, view) = state.view.join_local(&id, x, y, name);
            socket.join([room_channel(room_name), cell_channel(room_name, cell)]);
            // Answered under the room's lock: the client has its starting view before
            // any batch that builds on it.
            seated(&view);
            drop(state);
            self.metrics.players.inc();
            return Joined { room };
        }
    }

    /// Takes the socket `id` out of `room`; the room stops being hosted when it was the
    /// last local player.
    pub async fn leave(
        self: &Arc<Self>,
        socket: Option<&SocketRef<A>>,
        id: &str,
        room: &Arc<HostedRoom>,
    ) {
        let mut state = room.view.lock().await;
        if let Some(cell) = state.view.leave_local(id) {
            self.metrics.players.dec();
            if let Some(s) = socket {
                s.leave([room_channel(&room.name), cell_channel(&room.name, cell)]);
            }
        }
        lock(&room.inbox).moves.remove(id);
        if state.view.local_count() == 0 && !state.closed {
            state.closed = true;
            // The last tick publishes the departures to the other workers.
            let out = state.view.tick();
            drop(state);
            {
                let mut rooms = lock(&self.rooms);
                if rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
                    rooms.remove(&room.name);
                }
                self.metrics
                    .rooms
                    .set(i64::try_from(rooms.len()).unwrap_or(i64::MAX));
            }
            if let Some(sync) = &self.sync {
                if !out.outgoing.is_empty() {
                    sync.publish(
                        &room.name,
                        &SyncMessage::Delta {
                            w: sync.worker.clone(),
                            ops: out.outgoing,
                        },
                    );
                }
                // A join may have hosted the room anew meanwhile; it needs the channel.
                if !lock(&self.rooms).contains_key(&room.name) {
                    sync.unsubscribe(&room.name).await;
                }
            }
        }
    }

    /// Frees the seat in the registry, tells the room, and closes it after the grace
    /// period when it stays empty.
    pub async fn release_seat(self: &Arc<Self>, id: &str, room: &str, track: &str) {
        let players = self.seats.leave(room).await;
        if let Some(players) = players {
            self.presence(room, players, vec![], vec![id.to_owned()])
                .await;
            if players == 0 {
                let hub = self.clone();
                let (room, track) = (room.to_owned(), track.to_owned());
                tokio::spawn(async move {
                    tokio::time::sleep(hub.cfg.room_empty_grace).await;
                    if lock(&hub.rooms).contains_key(&room) {
                        return;
                    }
                    match hub.seats.close_if_empty(&room, &track).await {
                        CloseOutcome::Closed => tracing::info!(room, "closed empty room"),
                        CloseOutcome::Gone => {}
                        CloseOutcome::StillInUse => {
                            tracing::debug!(room, "room in use again; kept")
                        }
                    }
                });
            }
        }
    }

    /// Room-wide presence, through the adapter (so every worker's sockets get it).
    pub async fn presence(&self, room: &str, players: u32, joined: Vec<String>, left: Vec<String>) {
        let msg = Presence {
            room: room.to_owned(),
            players,
            joined,
            left,
        };
        self.metrics.event_out(events::PRESENCE);
        let sent = tokio::time::timeout(
            self.cfg.redis_timeout,
            self.io.to(room_channel(room)).emit(events::PRESENCE, &msg),
        )
        .await;
        // A recipient whose queue is full misses it (a client that stopped reading, being
        // dropped); that is not a failed broadcast.
        if !matches!(sent, Ok(Ok(()) | Err(BroadcastError::Socket(_)))) {
            self.metrics.sync_dropped.inc();
            tracing::warn!(room, "presence could not be broadcast");
        }
    }

    /// Room-wide chat.
    pub async fn say(&self, room: &str, from: &str, text: String) -> Result<(), Rejection> {
        let msg = events::Said {
            from: from.to_owned(),
            text,
        };
        self.metrics.event_out(events::SAID);
        match tokio::time::timeout(
            self.cfg.redis_timeout,
            self.io.to(room_channel(room)).emit(events::SAID, &msg),
        )
        .await
        {
            Ok(Ok(()) | Err(BroadcastError::Socket(_))) => Ok(()),
            _ => {
                self.metrics.sync_dropped.inc();
                Err(Rejection::new(
                    codes::UNAVAILABLE,
                    "the message could not be delivered; try again",
                ))
            }
        }
    }

    pub fn queue_move(&self, room: &HostedRoom, id: &str, x: f32, y: f32) {
        let mut inbox = lock(&room.inbox);
        let first = inbox.moves.get(id).map_or_else(Instant::now, |m| m.2);
        inbox.moves.insert(id.to_owned(), (x, y, first));
    }

    /// Runs ticks until the process ends.
    pub async fn run_ticks(self: Arc<Self>) {
        let mut interval = tokio::time::interval(self.cfg.world.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let started = Instant::now();
            let rooms: Vec<Arc<HostedRoom>> = lock(&self.rooms).values().cloned().collect();
            for room in rooms {
                self.tick_room(&room).await;
            }
            self.metrics
                .tick_duration
                .observe(started.elapsed().as_secs_f64());
        }
    }

    async fn tick_room(&self, room: &HostedRoom) {
        let mut state = room.view.lock().await;
        if state.closed {
            return;
        }
        let inbox = std::mem::take(&mut *lock(&room.inbox));
        let now = Instant::now();
        let mut received: HashMap<String, Instant> = HashMap::with_capacity(inbox.moves.len());
        for (id, (x, y, at)) in inbox.moves {
            state.view.move_local(&id, x, y);
            received.insert(id, at);
        }
        let silent: Vec<String> = state
            .peers
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) > PEER_SILENCE)
            .map(|(w, _)| w.clone())
            .collect();
        for w in silent {
            tracing::info!(room = %room.name, worker = %w, "peer worker fell silent; dropping its entities");
            state.peers.remove(&w);
            state.view.drop_owner(&w);
        }
        let mut out = state.view.tick();
        // Other workers first: their players' views wait on this publish plus their own
        // emit, ours only on the emit below.
        if let Some(sync) = &self.sync {
            if inbox.snapshot_requested {
                sync.publish(
                    &room.name,
                    &SyncMessage::Snapshot {
                        w: sync.worker.clone(),
                        ops: state.view.local_snapshot(),
                    },
                );
                state.last_published = now;
            }
            publish_outgoing(sync, &room.name, &mut state, &mut out, now, true);
        }
        self.emit_view(&room.name, &out).await;
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
    async fn emit_view(&self, room: &str, out: &TickOutput) {
        for c in &out.crossers {
            if let Some(s) = self.socket(&c.id) {
                s.leave(cell_channel(room, c.from));
            }
        }
        for (cell, batch) in &out.cell_batches {
            self.metrics.view_batches.inc();
            self.metrics.event_out(events::VIEW);
            self.metrics
                .view_batch_entities
                .observe((batch.moved.len() + batch.entered.len() + batch.left.len()) as f64);
            if let Err(BroadcastError::Socket(missed)) = self
                .io
                .local()
                .to(cell_channel(room, *cell))
                .emit(events::VIEW, batch)
                .await
            {
                self.metrics.view_dropped.inc_by(missed.len() as u64);
            }
        }
        for c in &out.crossers {
            if let Some(s) = self.socket(&c.id) {
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

    /// Applies another worker's changes at once rather than on the next tick: the
    /// sender already batched them on its own tick, so waiting for ours would only add
    /// up to one more tick of latency to every cross-worker move.
    async fn apply_remote_now(&self, room: &HostedRoom, worker: &str, ops: Vec<SyncOp>) {
        let mut state = room.view.lock().await;
        if state.closed {
            return;
        }
        let now = Instant::now();
        state.peers.insert(worker.to_owned(), now);
        for op in ops {
            state.view.apply_remote(worker, op);
        }
        let mut out = state.view.tick();
        // Joins and leaves queued since the last tick go out with this one.
        if let Some(sync) = &self.sync {
            publish_outgoing(sync, &room.name, &mut state, &mut out, now, false);
        }
        self.emit_view(&room.name, &out).await;
    }

    fn socket(&self, id: &str) -> Option<SocketRef<A>> {
        let sid = id.parse().ok()?;
        self.io.get_socket(sid)
    }

    /// Reads other workers' room sync messages until the process ends.
    pub async fn run_sync_receiver(self: Arc<Self>) {
        let Some(sync) = &self.sync else {
            return;
        };
        let mut rx = sync.messages();
        loop {
            let msg = match rx.recv().await {
                Ok(m) => m,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    self.metrics.sync_dropped.inc_by(n);
                    tracing::warn!(lost = n, "room sync receiver fell behind");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(room) = room_of(sync.keys(), &msg.channel) else {
                continue;
            };
            let Some(bytes) = msg.value.as_bytes() else {
                continue;
            };
            let decoded = match SyncMessage::decode(bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(room, error = %e, "undecodable room sync message");
                    continue;
                }
            };
            if decoded.sender() == sync.worker {
                continue;
            }
            let Some(hosted) = lock(&self.rooms).get(room).cloned() else {
                continue;
            };
            match decoded {
                SyncMessage::Delta { w, ops } | SyncMessage::Snapshot { w, ops } => {
                    self.apply_remote_now(&hosted, &w, ops).await;
                }
                SyncMessage::SnapshotRequest { .. } => {
                    lock(&hosted.inbox).snapshot_requested = true;
                }
            }
        }
    }

    /// Marks a leave as started; the seat counts as held until the guard drops.
    pub fn begin_release(&self) -> Releasing<'_> {
        self.releasing.fetch_add(1, Ordering::SeqCst);
        Releasing(&self.releasing)
    }

    /// True while a local player is in a room or a leave has not yet freed its seat.
    pub fn holds_seats(&self) -> bool {
        self.metrics.players.get() > 0 || self.releasing.load(Ordering::SeqCst) > 0
    }
}
