//! The rooms this worker hosts. A room is hosted while at least one local player is in it:
//! its replica ([`crate::interest`]) is kept here, changed by joins, leaves and moves, and
//! turned each tick into the view batches of the local players.
//!
//! - [`members`]: a player placed in a room's replica and taken out of it, its seat given
//!   back;
//! - [`tick`]: the tick, which turns queued changes into view batches and room sync;
//! - [`remote`]: other workers' changes of the same rooms, applied as they arrive;
//! - [`broadcast`]: room-wide events (presence, chat, `room` custom events), numbered per
//!   room and kept in the room's log ([`crate::room_log`]);
//! - [`relay`]: custom events, delivered as their scope says;
//! - [`players`]: the players joined here, by public id, and the socket each is on;
//! - [`away`]: a dropped player held for its resume window, and its resume.
//!
//! The hub sends through the [`SocketIo`](socketioxide::SocketIo) it is handed; it holds
//! no socket itself, so it can exist before the Socket.IO layer that carries it as state.

mod away;
mod broadcast;
mod handoff;
mod members;
mod players;
mod relay;
mod remote;
mod room;
mod tick;

pub use away::expired;
pub use broadcast::Change;
pub use players::{Player, Players, Profile, Seated, new_player_id};
pub use room::HostedRoom;

use crate::config::Config;
use crate::credential::Credentials;
use crate::grid::Grid;
use crate::hooks::Hooks;
use crate::metrics::Metrics;
use crate::room_sync::SyncLink;
use crate::seats::Seats;
use room::lock;
use roomshard_protocol::events::{EntityView, JoinOk};
use roomshard_protocol::room_sync::SyncOp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The rooms hosted by this worker, and what they need: the grid, the seat registry and
/// the room sync with the other workers.
pub struct Hub {
    cfg: Arc<Config>,
    metrics: Arc<Metrics>,
    grid: Grid,
    seats: Seats,
    sync: Option<SyncLink>,
    rooms: Mutex<HashMap<String, Arc<HostedRoom>>>,
    players: Players,
    credentials: Credentials,
    hooks: Arc<Hooks>,
}

impl Hub {
    pub fn new(
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
        let credentials =
            Credentials::new(cfg.token_key.as_ref(), cfg.keys.set(), cfg.shard.index());
        let hooks = Arc::new(Hooks::new(&cfg, metrics.clone())?);
        Ok(Arc::new(Self {
            cfg,
            metrics,
            grid,
            seats,
            sync,
            rooms: Mutex::new(HashMap::new()),
            players: Players::default(),
            credentials,
            hooks,
        }))
    }

    /// Marks this shard's rooms draining, or no longer (docs/REDIS.md, "Draining").
    pub async fn mark_rooms(&self, draining: bool) {
        if let Seats::Redis(r) = &self.seats {
            r.mark_rooms(draining).await;
        }
    }

    /// The heartbeat's share of keeping the placement indices current: the drain state
    /// into the rooms, and now and then a sweep of every room, in the background.
    pub async fn seat_upkeep(self: &Arc<Self>, draining: bool) {
        if let Seats::Redis(r) = &self.seats {
            r.mark_rooms(draining).await;
            if r.sweep_due() {
                let hub = self.clone();
                tokio::spawn(async move {
                    if let Seats::Redis(r) = &hub.seats {
                        r.sweep().await;
                    }
                });
            }
        }
    }

    pub fn cfg(&self) -> &Config {
        &self.cfg
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    pub fn players(&self) -> &Players {
        &self.players
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    /// The ack of a join or a resume: the player's room and id, the view it starts from,
    /// a resume credential good while the player's record holds `nonce`, the room's
    /// last event number, and what `onJoin` attached to the player.
    #[allow(clippy::too_many_arguments)]
    pub fn join_ack(
        &self,
        room: &str,
        id: &str,
        players: u32,
        view: Vec<EntityView>,
        nonce: &str,
        seq: u64,
        metadata: Option<serde_json::Value>,
    ) -> JoinOk {
        JoinOk {
            ok: true,
            room: room.to_owned(),
            shard: self.cfg.shard.index(),
            self_id: id.to_owned(),
            players,
            view,
            width: self.grid.width(),
            height: self.grid.height(),
            radius: self.grid.radius(),
            cells: self.grid.reach(),
            resume: Some(self.credentials.issue(room, id, nonce)),
            seq,
            metadata,
        }
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

    /// The hosted room `name`, if any.
    fn hosted(&self, name: &str) -> Option<Arc<HostedRoom>> {
        lock(&self.rooms).get(name).cloned()
    }

    /// Every hosted room.
    fn hosted_rooms(&self) -> Vec<Arc<HostedRoom>> {
        lock(&self.rooms).values().cloned().collect()
    }

    /// The room `name`, hosted from now on if it was not: subscribed to its room sync and
    /// asking the other workers for their snapshots.
    async fn host(&self, name: &str, track: &str) -> Arc<HostedRoom> {
        if let Some(room) = self.hosted(name) {
            return room;
        }
        let room = Arc::new(HostedRoom::new(
            name,
            track,
            self.grid,
            self.cfg.resume.buffer_events,
        ));
        {
            let mut rooms = lock(&self.rooms);
            let entry = rooms.entry(name.to_owned()).or_insert_with(|| room.clone());
            if !Arc::ptr_eq(entry, &room) {
                return entry.clone();
            }
            self.count_rooms(rooms.len());
        }
        if let Some(sync) = &self.sync
            && sync.subscribe(name).await
        {
            sync.request_snapshots(name);
        }
        room
    }

    /// Stops hosting `room` (unless a join hosted it anew already) and tells the others
    /// its last changes, `outgoing`.
    async fn unhost(&self, room: &Arc<HostedRoom>, outgoing: Vec<SyncOp>) {
        {
            let mut rooms = lock(&self.rooms);
            if rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
                rooms.remove(&room.name);
            }
            self.count_rooms(rooms.len());
        }
        if let Some(sync) = &self.sync {
            if !outgoing.is_empty() {
                sync.publish_delta(&room.name, outgoing);
            }
            // A join may have hosted the room anew meanwhile; it needs the channel.
            if self.hosted(&room.name).is_none() {
                sync.unsubscribe(&room.name).await;
            }
        }
    }

    fn count_rooms(&self, n: usize) {
        self.metrics.rooms.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}
