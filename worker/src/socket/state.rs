//! `state {state}`: a joined player sets its entity's application-defined state without
//! moving. Queued for the room's next tick like a move, which sends it to the players
//! who see the entity; of several states within one tick only the newest counts.

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

pub async fn state<A: Adapter>(
    s: SocketRef<A>,
    Arrival(arrival): Arrival,
    TryData(d): TryData<Value>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
) {
    let result = d
        .map_err(|_| Rejection::new(codes::BAD_REQUEST, "state expects {\"state\": any JSON}"))
        .and_then(|v| payload::parse_state(&v, hub.cfg().game.max_state_bytes))
        .and_then(|state| {
            let sess = Session::of(&s).ok_or_else(reply::not_joined)?;
            let player = sess.current().ok_or_else(reply::not_joined)?;
            if sess.is_newest_state(arrival) {
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
