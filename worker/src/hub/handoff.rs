//! The hub's part of a handoff ([`crate::handoff`]): every hosted room written out on
//! the way out, and taken back in by the next process of the shard.

use super::Hub;
use super::players::{Link, Player, Profile};
use crate::handoff::{HANDOFF_VERSION, HandedPlayer, HandedRoom, Handoff};
use crate::room_log::RoomLog;
use crate::seats::Seats;
use roomshard_protocol::events::{self, MigrateNotice};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use std::collections::BTreeMap;
use std::sync::Arc;

impl Hub {
    /// Whether the operator is replacing this shard, so that it hands its rooms over
    /// instead of draining. False without Redis, or when Redis cannot say.
    pub async fn replacing(&self) -> bool {
        match &self.seats {
            Seats::Redis(r) => r.is_replacing().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the replacing mark; draining instead");
                false
            }),
            Seats::Memory(_) => false,
        }
    }

    /// Writes every hosted room and its players to the shard's handoff record, tells each
    /// client `migrate` and closes its connection. The players' seats stay counted: the
    /// next process holds them. Returns the players handed over, or `None` when the record
    /// could not be written (the caller drains instead).
    pub async fn hand_off<A: Adapter>(self: &Arc<Self>, io: &SocketIo<A>) -> Option<usize> {
        let Seats::Redis(seats) = &self.seats else {
            return None;
        };
        let mut rooms: BTreeMap<String, HandedRoom> = BTreeMap::new();
        let mut taken = Vec::new();
        for player in self.players.all() {
            let mut link = player.link.lock().await;
            if link.gone {
                continue;
            }
            let room = &player.room;
            let state = room.state.lock().await;
            let Some((x, y, entity_state)) = state.replica.local_entity(&player.id) else {
                continue;
            };
            // Handed over: a disconnect from here on leaves the seat alone.
            link.gone = true;
            taken.push(player.clone());
            rooms
                .entry(room.name.clone())
                .or_insert_with(|| HandedRoom {
                    room: room.name.clone(),
                    track: room.track.clone(),
                    last_seq: state.log.last_seq(),
                    events: state.log.handed_over(),
                    players: Vec::new(),
                })
                .players
                .push(HandedPlayer {
                    id: player.id.clone(),
                    name: player.profile.name.clone(),
                    subject: player.profile.subject.clone(),
                    metadata: player.profile.metadata.clone(),
                    nonce: link.nonce.clone(),
                    x,
                    y,
                    state: entity_state,
                });
        }
        let record = Handoff {
            v: HANDOFF_VERSION,
            epoch: self.credentials.epoch().to_owned(),
            rooms: rooms.into_values().collect(),
        };
        let players = record.players();
        let written = match serde_json::to_string(&record) {
            Ok(json) => seats
                .put_handoff(json, self.cfg.resume.window)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write the handoff record; draining instead");
            for player in taken {
                player.link.lock().await.gone = false;
            }
            return None;
        }
        self.metrics.event_out(events::MIGRATE);
        let notice = MigrateNotice {
            shard: self.cfg.shard.index(),
            url: None,
            reason: "the shard moves to a new process; connect again and resume".into(),
        };
        let _ = io.local().emit(events::MIGRATE, &notice).await;
        let _ = io.local().disconnect().await;
        Some(players)
    }

    /// Hosts the rooms an earlier process of the shard handed over, every player held as
    /// away for the resume window, and honours that process's credentials. Runs before
    /// the first connection is accepted.
    pub async fn take_over<A: Adapter>(self: &Arc<Self>, io: &SocketIo<A>, record: Handoff) {
        self.credentials.accept_handed_over(&record.epoch);
        let window = self.cfg.resume.window;
        for handed in record.rooms {
            let room = self.host(&handed.room, &handed.track).await;
            let mut state = room.state.lock().await;
            state.log = RoomLog::restored(
                self.cfg.resume.buffer_events,
                handed.last_seq,
                handed.events,
            );
            for p in handed.players {
                // A record from a process with another world size: kept inside this one.
                let (w, h) = (self.grid.width() as f32, self.grid.height() as f32);
                let (x, y) = (p.x.clamp(0.0, w), p.y.clamp(0.0, h));
                state.replica.join_local(&p.id, x, y, &p.name);
                if !p.state.is_null() {
                    state.replica.set_state_local(&p.id, p.state);
                }
                let player = Arc::new(Player {
                    id: p.id,
                    track: handed.track.clone(),
                    room: room.clone(),
                    profile: Profile {
                        name: p.name,
                        subject: p.subject,
                        metadata: p.metadata,
                    },
                    link: tokio::sync::Mutex::new(Link {
                        socket: None,
                        nonce: p.nonce,
                        generation: 0,
                        gone: false,
                    }),
                });
                self.players.insert(player.clone());
                self.metrics.players.inc();
                self.metrics.players_away.inc();
                let (hub, io) = (self.clone(), io.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(window).await;
                    hub.expire(&io, &player, 0).await;
                });
            }
            // Placed now, not at the first tick: a resume that comes before it shows the
            // room as it was. Nobody is connected yet to be sent the batches.
            let out = state.replica.tick();
            drop(state);
            if let Some(sync) = &self.sync
                && !out.outgoing.is_empty()
            {
                sync.publish_delta(&room.name, out.outgoing);
            }
        }
    }
}
