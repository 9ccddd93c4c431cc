//! Room-wide messages: presence and chat go to the game room's Socket.IO room through the
//! adapter, so every worker's sockets in the room get them.

use super::Hub;
use super::room::room_channel;
use crate::error::Rejection;
use roomshard_protocol::events::{self, Presence, codes};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::{BroadcastError, SocketIo};

impl Hub {
    /// Room-wide presence: who joined or left, and how many players the room has.
    pub async fn presence<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        players: u32,
        joined: Vec<String>,
        left: Vec<String>,
    ) {
        let msg = Presence {
            room: room.to_owned(),
            players,
            joined,
            left,
        };
        if !self.to_room(io, room, events::PRESENCE, &msg).await {
            tracing::warn!(room, "presence could not be broadcast");
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
        };
        if self.to_room(io, room, events::SAID, &msg).await {
            Ok(())
        } else {
            Err(Rejection::new(
                codes::UNAVAILABLE,
                "the message could not be delivered; try again",
            ))
        }
    }

    /// Emits `event` to everyone in `room`, under the Redis deadline; false (and counted)
    /// when the broadcast failed. A recipient whose queue is full misses it (a client that
    /// stopped reading, being dropped); that is not a failed broadcast.
    async fn to_room<A: Adapter, T: Serialize + ?Sized>(
        &self,
        io: &SocketIo<A>,
        room: &str,
        event: &'static str,
        msg: &T,
    ) -> bool {
        self.metrics.event_out(event);
        let sent = tokio::time::timeout(
            self.cfg.redis_timeout,
            io.to(room_channel(room)).emit(event, msg),
        )
        .await;
        let delivered = matches!(sent, Ok(Ok(()) | Err(BroadcastError::Socket(_))));
        if !delivered {
            self.metrics.sync_dropped.inc();
        }
        delivered
    }
}
