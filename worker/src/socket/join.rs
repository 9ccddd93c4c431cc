//! `join {room, token?, name?, identity?}`: a player takes a seat and enters a room. The
//! whole join, step by step: the payload read, the drain and the socket's membership
//! checked, admission deciding which seat ([`crate::admission`]), the player's identity
//! checked when the seat is bound to one ([`crate::identity`]), the `onJoin` hook's say
//! ([`crate::hooks`]), the seat taken in the registry (and `onRoomCreated` for a room's
//! first), the player placed in the room (answered with its starting view), and the room
//! told.

use super::reply::Reply;
use super::session::Session;
use crate::admission::{self, Policy, SeatRequest};
use crate::drain::Drain;
use crate::error::Rejection;
use crate::hub::{Change, HostedRoom, Hub, Player, Profile, Seated, new_player_id};
use crate::identity;
use crate::payload;
use roomshard_protocol::events::{EntityView, codes};
use roomshard_protocol::token::new_nonce;
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
    hub: &Arc<Hub>,
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
            format!("already in room {:?}; leave it first", m.player.room.name),
        ));
    }
    let request = admission::seat_request(
        Policy::of(cfg),
        &req.room,
        req.token.as_deref(),
        roomshard_protocol::now_ms(),
    )?;
    let mut subject = None;
    if let SeatRequest::Reserved { bound_to, .. } = &request {
        identity::check(
            cfg.identity.as_deref(),
            bound_to.as_deref(),
            req.identity.as_deref(),
        )
        .await?;
        subject.clone_from(bound_to);
    }
    let id = new_player_id();
    let name = req
        .name
        .unwrap_or_else(|| format!("player-{}", id.get(1..7).unwrap_or_default()));
    let mut profile = Profile {
        name: name.clone(),
        subject,
        metadata: None,
    };
    let player = roomshard_protocol::hooks::HookPlayer {
        id: id.clone(),
        name: name.clone(),
        subject: profile.subject.clone(),
        metadata: None,
    };
    let extras = hub.hooks().on_join(&req.room, player).await?;
    profile.metadata = extras.metadata;
    let seat = hub.take_seat(&req.room, &request).await?;
    if seat.first
        && let Err(e) = hub.hooks().room_created(&req.room, &seat.track).await
    {
        hub.give_back_seat(&req.room, &seat.track).await;
        return Err(e);
    }
    let nonce = new_nonce();
    hub.players().set_socket(&id, Some(socket.id));
    // The socket carries the player before the ack goes out: a client that moves the
    // moment it has the ack finds itself joined.
    let seated = |room: &Arc<HostedRoom>, view: &[EntityView], seq: u64| {
        let metadata = profile.metadata.clone();
        let seated = Seated {
            id: id.clone(),
            track: seat.track.clone(),
            room: room.clone(),
            profile,
        };
        let player = Arc::new(Player::new(seated, socket.id, nonce.clone()));
        hub.players().insert(player.clone());
        sess.carry(&mut membership, player);
        if let Some(state) = extras.state {
            room.queue_state(&id, state);
        }
        let view = view.to_vec();
        let ok = hub.join_ack(&req.room, &id, seat.players, view, &nonce, seq, metadata);
        if let Some(reply) = reply.take() {
            reply.send(&ok);
        }
    };
    hub.place(socket, &req.room, (&id, &name), &seat, seated)
        .await;
    drop(membership);
    let joined = Change {
        joined: vec![id],
        ..Change::default()
    };
    hub.presence(io, &req.room, seat.players, joined).await;
    Ok(())
}
