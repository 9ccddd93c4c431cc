//! `join {room, token?, name?}`: a player takes a seat and enters a room. The whole join,
//! step by step: the payload read, the drain and the socket's membership checked,
//! admission deciding which seat ([`crate::admission`]), the seat taken in the registry,
//! the player placed in the room (answered with its starting view), and the room told.

use super::reply::Reply;
use super::session::{Membership, Session};
use crate::admission::{self, Policy};
use crate::drain::Drain;
use crate::error::Rejection;
use crate::hub::Hub;
use crate::payload;
use roomshard_protocol::events::{EntityView, JoinOk, codes};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use std::sync::Arc;

pub async fn join<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(d): TryData<Value>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
    State(drain): State<Arc<Drain>>,
) {
    let mut reply = Some(reply);
    let result = match d {
        Ok(v) => seat(&hub, &drain, &io, &s, &v, &mut reply).await,
        Err(_) => Err(Rejection::new(
            codes::BAD_REQUEST,
            "join expects a JSON object",
        )),
    };
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    hub.metrics().joins.with_label_values(&[outcome]).inc();
    if let (Err(e), Some(reply)) = (result, reply) {
        reply.refuse(hub.metrics(), e);
    }
}

/// Seats the socket; on success the ack (taken from `reply`) is already sent.
async fn seat<A: Adapter>(
    hub: &Hub,
    drain: &Drain,
    io: &SocketIo<A>,
    socket: &SocketRef<A>,
    payload: &Value,
    reply: &mut Option<Reply<A>>,
) -> Result<(), Rejection> {
    let cfg = hub.cfg();
    let req = payload::parse_join(payload, cfg.limits.max_name_chars)?;
    if drain.is_draining() {
        return Err(Rejection::new(
            codes::DRAINING,
            "this worker is draining; reserve a seat again",
        ));
    }
    let sess = Session::required(socket)?;
    let mut membership = sess.membership.lock().await;
    if let Some(m) = membership.as_ref() {
        return Err(Rejection::new(
            codes::ALREADY_JOINED,
            format!("already in room {:?}; leave it first", m.room.name),
        ));
    }
    let request = admission::seat_request(
        Policy::of(cfg),
        &req.room,
        req.token.as_deref(),
        roomshard_protocol::now_ms(),
    )?;
    let seat = hub.take_seat(&req.room, &request).await?;
    let id = socket.id.to_string();
    let name = req
        .name
        .unwrap_or_else(|| format!("player-{}", id.chars().take(6).collect::<String>()));
    let grid = hub.grid();
    let seated = |view: &[EntityView]| {
        let ok = JoinOk {
            ok: true,
            room: req.room.clone(),
            shard: cfg.shard.index(),
            self_id: id.clone(),
            players: seat.players,
            view: view.to_vec(),
            width: grid.width(),
            height: grid.height(),
            radius: grid.radius(),
            cells: grid.reach(),
        };
        if let Some(reply) = reply.take() {
            reply.send(&ok);
        }
    };
    let room = hub.place(socket, &req.room, &name, &seat, seated).await;
    sess.set_current(Some(room.clone()));
    *membership = Some(Membership {
        room,
        track: seat.track.clone(),
    });
    drop(membership);
    hub.presence(io, &req.room, seat.players, vec![id], vec![])
        .await;
    Ok(())
}
