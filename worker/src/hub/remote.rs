//! Other workers' changes of the rooms this worker hosts, as [`crate::room_sync`] decodes
//! them: applied to the replica as they arrive, and answered with a snapshot when asked.

use super::Hub;
use super::broadcast::RELAYED;
use super::room::HostedRoom;
use super::tick::publish_outgoing;
use crate::attached::Attached;
use crate::room_sync::bins_of;
use roomshard_protocol::room_sync::{SyncMessage, SyncOp};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use std::sync::Arc;
use std::time::Instant;

impl Hub {
    /// Applies other workers' room sync messages until the process ends.
    pub async fn run_room_sync<A: Adapter>(self: Arc<Self>, io: SocketIo<A>) {
        let Some(sync) = &self.sync else {
            return;
        };
        let mut incoming = sync.incoming();
        while let Some((room, msg)) = incoming.next().await {
            let Some(hosted) = self.hosted(&room) else {
                continue;
            };
            match msg {
                SyncMessage::Delta { w, ops } | SyncMessage::Snapshot { w, ops } => {
                    self.apply_remote_now(&io, &hosted, &w, ops).await;
                }
                SyncMessage::SnapshotRequest { .. } => hosted.request_snapshot(),
                // Another version, or anyone who can publish to Redis, may send anything:
                // only the events this worker knows, as objects. A player's event has its
                // declared scope; the onEvent hook may emit any declared name to any scope.
                SyncMessage::Event { e, d, b, .. } => {
                    let known = RELAYED.contains(&e.as_str()) || self.events().get(&e).is_some();
                    if known && d.is_object() {
                        self.deliver(&io, &room, &e, d, bins_of(b)).await;
                    }
                }
                SyncMessage::Nearby { e, from, d, b, .. } => {
                    if self.events().get(&e).is_some() && d.is_object() {
                        let msg = Attached {
                            json: d,
                            bins: bins_of(b),
                        };
                        self.deliver_nearby(&io, &hosted, &e, &from, &msg).await;
                    }
                }
                SyncMessage::Direct { e, to, d, b, .. } => {
                    if self.events().get(&e).is_some() && d.is_object() {
                        let msg = Attached {
                            json: d,
                            bins: bins_of(b),
                        };
                        self.deliver_direct(&io, &room, &e, &to, &msg);
                    }
                }
            }
        }
    }

    /// Applies another worker's changes at once rather than on the next tick: the
    /// sender already batched them on its own tick, so waiting for ours would only add
    /// up to one more tick of latency to every cross-worker move.
    async fn apply_remote_now<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &HostedRoom,
        worker: &str,
        ops: Vec<SyncOp>,
    ) {
        let mut state = room.state.lock().await;
        if state.closed {
            return;
        }
        let now = Instant::now();
        state.peers.insert(worker.to_owned(), now);
        for op in ops {
            state.replica.apply_remote(worker, op);
        }
        let mut out = state.replica.tick();
        // Joins and leaves queued since the last tick go out with this one.
        if let Some(sync) = &self.sync {
            publish_outgoing(sync, &room.name, &mut state, &mut out, now, false);
        }
        self.emit_view(io, &room.name, &out).await;
    }
}
