//! Room-wide events: presence, chat and `room` custom events. Each goes to the other
//! workers hosting the room through room sync, and to this worker's players of the room
//! directly. Every worker numbers the room events it delivers (`seq`, per room) and keeps
//! them in the room's log, so that a player who resumes on this shard is sent exactly the
//! ones it missed.

use super::Hub;
use super::room::room_channel;
use crate::attached::{Bins, WithBins};
use crate::error::Rejection;
use roomshard_protocol::events::{self, Presence, codes};
use serde::Serialize;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::{BroadcastError, SocketIo};

/// The room events of the protocol one worker may relay to another; with the game's
/// declared `room` events, anything else on a room's channel is ignored.
pub(super) const RELAYED: [&str; 2] = [events::PRESENCE, events::SAID];

/// Who came or went in a presence event.
#[derive(Default)]
pub struct Change {
    pub joined: Vec<String>,
    pub left: Vec<String>,
    pub away: Vec<String>,
    pub back: Vec<String>,
}

impl Hub {
    /// Room-wide presence: who joined, left, went away or came back, and how many
    /// players the room has.
    pub async fn presence<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        players: u32,
        change: Change,
    ) {
        let msg = Presence {
            room: room.to_owned(),
            players,
            joined: change.joined,
            left: change.left,
            away: change.away,
            back: change.back,
            seq: 0,
        };
        if !self
            .room_event(io, room, events::PRESENCE, &msg, Bins::default())
            .await
        {
            tracing::warn!(room, "presence could not be delivered");
        }
    }

    /// Room-wide chat.
    pub async fn say<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        from: &str,
        text: String,
    ) -> Result<(), Rejection> {
        let msg = events::Said {
            from: from.to_owned(),
            text,
            seq: 0,
        };
        let sent = self.room_event(io, room, events::SAID, &msg, Bins::default());
        sent.await.then_some(()).ok_or_else(undelivered)
    }

    /// Sends a room event to the other workers hosting `room` and delivers it here; `bins`
    /// are the attachments `msg` holds placeholders of.
    pub(super) async fn room_event<A: Adapter, T: Serialize>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        event: &str,
        msg: &T,
        bins: Bins,
    ) -> bool {
        let Ok(mut data) = serde_json::to_value(msg) else {
            return false;
        };
        // Each receiver numbers the event itself.
        if let Some(map) = data.as_object_mut() {
            map.remove("seq");
        }
        if let Some(sync) = &self.sync {
            sync.publish_event(room, event, data.clone(), &bins);
        }
        self.deliver(io, room, event, data, bins).await
    }

    /// Numbers a room event, keeps it in the room's log and emits it to this worker's
    /// players of the room, under the room's lock: a resume, which reads the log and joins
    /// the room under the same lock, gets each event either replayed or live, never both
    /// and never neither. False (and counted) when the emit failed; a room not hosted here
    /// has no one to deliver to. A recipient whose queue is full misses it (a client that
    /// stopped reading, being dropped); that is not a failed delivery.
    pub(super) async fn deliver<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        event: &str,
        data: Value,
        bins: Bins,
    ) -> bool {
        let Some(hosted) = self.hosted(room) else {
            return true;
        };
        let mut state = hosted.state.lock().await;
        if state.closed {
            return true;
        }
        let data = state.log.push(event, data, &bins);
        self.metrics.event_out(event);
        let sent = io
            .local()
            .to(room_channel(room))
            .emit(event, &WithBins(&data, &bins))
            .await;
        drop(state);
        let delivered = matches!(sent, Ok(()) | Err(BroadcastError::Socket(_)));
        if !delivered {
            self.metrics.sync_dropped.inc();
        }
        delivered
    }
}

/// The refusal of a room event that could not reach every worker of the room.
pub(super) fn undelivered() -> Rejection {
    Rejection::new(
        codes::UNAVAILABLE,
        "the message could not be delivered; try again",
    )
}
