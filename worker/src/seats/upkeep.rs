//! Keeping the tracks' placement indices and the set's registries in step with this
//! shard's rooms. A seat script runs in the room's own slot and cannot touch the track's
//! index or the set's room lists, so what it did is posted afterwards, each a call of its
//! own. A post lost to a failure or a crash is made good by the sweep: every
//! [`SWEEP_EVERY_BEATS`] heartbeats, and at the first one after a start, every room the
//! shard owns is read again (and marked as the shard's drain state says) and posted.

use super::{RedisSeats, texts};
use fred::interfaces::{SetsInterface, SortedSetsInterface};
use fred::types::Value;
use roomshard_protocol::seats::{LEDGER_LUA, RoomSeats, parse_truth};
use roomshard_runtime::lua::LuaScript;
use roomshard_runtime::seat_index;
use std::sync::atomic::Ordering;

static MARK: LuaScript = LuaScript::with_prelude("mark", LEDGER_LUA, include_str!("mark.lua"));

/// [`RedisSeats::mark_rooms`] has not run yet.
pub(super) const UNMARKED: u8 = 0;
const MARKED_OPEN: u8 = 1;
const MARKED_DRAINING: u8 = 2;

/// Heartbeats between two sweeps (a minute at the default interval).
const SWEEP_EVERY_BEATS: u32 = 30;
/// A room the shard owns without seats is taken out of the registries only this long
/// after it was opened: a matchmaker opens a room's seats just after claiming its slot.
const ORPHAN_GRACE_MS: u64 = 60_000;

impl RedisSeats {
    /// Posts what `room`'s seats became to the placement index `track` (the room's track,
    /// or its metadata's index); a failure is left to the sweep.
    pub(super) async fn post(&self, room: &str, track: &str, seats: &RoomSeats) {
        let r = &self.registry;
        let posted = r
            .call(
                "seat_index",
                seat_index::record(&r.client, &r.keys, track, room, seats, 0),
            )
            .await;
        if let Err(e) = posted {
            tracing::debug!(room, error = %e, "posting to the placement index failed; the sweep will");
        }
    }

    /// After a join without a reservation: a room it opened joins the set's registries,
    /// and its seats are posted.
    pub(super) async fn opened_or_changed(
        &self,
        room: &str,
        track: &str,
        seats: &RoomSeats,
        opened: bool,
        now_ms: u64,
    ) {
        if opened {
            let r = &self.registry;
            let pipeline = r.client.pipeline();
            let writes = async {
                pipeline
                    .sadd::<(), _, _>(r.keys.shard_rooms(self.shard), room)
                    .await?;
                pipeline
                    .zadd::<(), _, _>(
                        r.keys.rooms(),
                        None,
                        None,
                        false,
                        false,
                        (now_ms as f64, room),
                    )
                    .await?;
                pipeline.all::<Value>().await
            };
            if let Err(e) = r.call("register", writes).await {
                tracing::warn!(room, error = %e, "registering a new room failed");
            }
        }
        self.post(room, track, seats).await;
    }

    /// After a room closed: out of its track's index and the set's registries.
    pub(super) async fn closed(&self, room: &str, track: &str, version: Option<u64>) {
        let r = &self.registry;
        let forgotten = r
            .call(
                "seat_index",
                seat_index::forget(&r.client, &r.keys, track, room, version),
            )
            .await;
        if let Err(e) = forgotten {
            tracing::debug!(room, error = %e, "taking a closed room out of its index failed");
        }
        self.unregister(room).await;
    }

    async fn unregister(&self, room: &str) {
        let r = &self.registry;
        let pipeline = r.client.pipeline();
        let removals = async {
            pipeline
                .srem::<(), _, _>(r.keys.shard_rooms(self.shard), room)
                .await?;
            pipeline.zrem::<(), _, _>(r.keys.rooms(), room).await?;
            pipeline.all::<Value>().await
        };
        if let Err(e) = r.call("unregister", removals).await {
            tracing::warn!(room, error = %e, "removing a closed room from the registries failed");
        }
    }

    /// Marks every room of the shard draining (or no longer): a draining room takes no
    /// reservation, whatever a matchmaker's view of the shard says. Done before clients
    /// are told, so a client told to go elsewhere is never sent back here. A process that
    /// starts open leaves it to its first sweep, which marks every room as it reads it.
    pub async fn mark_rooms(&self, draining: bool) {
        let state = if draining {
            MARKED_DRAINING
        } else {
            MARKED_OPEN
        };
        let was = self.marked.swap(state, Ordering::SeqCst);
        if was == state || (was == UNMARKED && state == MARKED_OPEN) {
            return;
        }
        for room in self.owned().await {
            if let Err(e) = self.mark_and_post(&room, draining).await {
                tracing::warn!(room, error = %e, "marking a room failed; the sweep will");
            }
        }
        tracing::info!(draining, "rooms of this shard marked");
    }

    /// Marks `room` as the shard's drain state says and posts its seats; false when the
    /// room is gone.
    async fn mark_and_post(
        &self,
        room: &str,
        draining: bool,
    ) -> Result<bool, roomshard_runtime::redis::RedisError> {
        let r = &self.registry;
        let keys = vec![r.keys.room(room), r.keys.room_reservations(room)];
        let args = vec![
            if draining { "1" } else { "0" }.to_owned(),
            self.shard.to_string(),
        ];
        let reply = r
            .call(
                "mark",
                MARK.run::<Value, _, _>(&r.client, || (keys.clone(), args.clone())),
            )
            .await?;
        let parsed = texts(reply).map(|t| parse_truth(&t));
        match parsed {
            Some(Ok(Some((track, seats)))) => {
                self.post(room, &track, &seats).await;
                Ok(true)
            }
            Some(Ok(None)) => Ok(false),
            _ => Err(roomshard_runtime::redis::RedisError::Reply {
                op: "mark",
                detail: "a malformed reply".into(),
            }),
        }
    }

    /// Counts a heartbeat; true when a sweep is due (and none runs).
    pub fn sweep_due(&self) -> bool {
        self.beats
            .fetch_add(1, Ordering::SeqCst)
            .is_multiple_of(SWEEP_EVERY_BEATS)
            && !self.sweeping.swap(true, Ordering::SeqCst)
    }

    /// Reads every room the shard owns again, posting it to its track's index, and drops
    /// the registry entries of rooms whose seats never came. Runs apart from the
    /// heartbeat, one at a time ([`RedisSeats::sweep_due`]).
    pub async fn sweep(&self) {
        self.sweep_rooms().await;
        self.sweeping.store(false, Ordering::SeqCst);
    }

    async fn sweep_rooms(&self) {
        let r = &self.registry;
        let now = roomshard_protocol::now_ms();
        let draining = self.marked.load(Ordering::SeqCst) == MARKED_DRAINING;
        for room in self.owned().await {
            match self.mark_and_post(&room, draining).await {
                Ok(true) => {}
                Ok(false) => {
                    let opened: Option<f64> = r
                        .call("sweep", r.client.zscore(r.keys.rooms(), room.as_str()))
                        .await
                        .ok()
                        .flatten();
                    let age = now.saturating_sub(opened.unwrap_or(0.0).max(0.0) as u64);
                    if age > ORPHAN_GRACE_MS {
                        self.unregister(&room).await;
                    }
                }
                Err(e) => {
                    tracing::debug!(room, error = %e, "sweep stopped; the next one goes on");
                    return;
                }
            }
        }
    }

    /// The rooms this shard owns (at most its room limit).
    async fn owned(&self) -> Vec<String> {
        let r = &self.registry;
        r.call("sweep", r.client.smembers(r.keys.shard_rooms(self.shard)))
            .await
            .unwrap_or_else(|e| {
                tracing::debug!(error = %e, "listing this shard's rooms failed");
                Vec::new()
            })
    }
}
