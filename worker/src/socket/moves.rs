//! `move {x, y, state?}`: a joined player asks to move, and may set its entity's state on
//! the way. Both are queued for the room's next tick, which sends them to the players who
//! see the entity; a move (or state) that arrived before another already queued is
//! superseded and dropped.

use super::reply;
use super::reply::Reply;
use super::session::{Arrival, Session};
use crate::error::Rejection;
use crate::hub::Hub;
use crate::payload;
use roomshard_protocol::events::codes;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use std::sync::Arc;

pub async fn moved<A: Adapter>(
    s: SocketRef<A>,
    Arrival(arrival): Arrival,
    TryData(d): TryData<Value>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
) {
    let max_state = hub.cfg().game.max_state_bytes;
    let result = d
        .map_err(|_| {
            Rejection::new(
                codes::BAD_REQUEST,
                "move expects {\"x\": number, \"y\": number, \"state\"?: any}",
            )
        })
        .and_then(|v| {
            let (x, y) = payload::parse_move(&v, hub.grid())?;
            Ok((x, y, payload::parse_move_state(&v, max_state)?))
        })
        .and_then(|(x, y, state)| {
            let sess = Session::of(&s).ok_or_else(reply::not_joined)?;
            let player = sess.current().ok_or_else(reply::not_joined)?;
            // A newer move already queued wins; this one is superseded.
            if sess.is_newest_move(arrival) {
                player.room.queue_move(&player.id, x, y);
            }
            if let Some(state) = state
                && sess.is_newest_state(arrival)
            {
                player.room.queue_state(&player.id, state);
            }
            Ok(())
        });
    match result {
        Ok(()) if reply.wants_ack() => reply.ok(),
        Ok(()) => {}
        Err(e) => reply.refuse(hub.metrics(), e),
    }
}
