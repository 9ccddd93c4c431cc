//! `say {text}`: chat to everyone in the player's room, on every worker.

use super::reply;
use super::reply::Reply;
use super::session::Session;
use crate::error::Rejection;
use crate::hub::Hub;
use crate::payload;
use roomshard_protocol::events::codes;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use std::sync::Arc;

pub async fn say<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(d): TryData<Value>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
) {
    let parsed = d
        .map_err(|_| Rejection::new(codes::BAD_REQUEST, "say expects {\"text\": string}"))
        .and_then(|v| payload::parse_say(&v, hub.cfg().limits.max_say_chars));
    let result = match parsed {
        Ok(text) => match Session::of(&s).and_then(|sess| sess.current()) {
            Some(player) => hub.say(&io, &player.room.name, &player.id, text).await,
            None => Err(reply::not_joined()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.refuse(hub.metrics(), e),
    }
}
