//! `resume {credential, lastSeq}`: a new connection takes back a dropped player. The
//! whole resume, step by step: the payload read, the socket checked to carry no player
//! yet, the credential opened ([`crate::credential`]), the player found, then moved onto
//! this socket with the events it missed (the hub's `away`), and the socket that carried
//! it until now, if the drop had not been noticed yet, closed.

use super::reply::Reply;
use super::session::Session;
use crate::error::Rejection;
use crate::hub::{Hub, expired};
use crate::payload;
use roomshard_protocol::events::codes;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use std::sync::Arc;

pub async fn resume<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(d): TryData<Value>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
) {
    let mut reply = Some(reply);
    let result = match d {
        Ok(v) => take_back(&hub, &io, &s, &v, &mut reply).await,
        Err(_) => Err(Rejection::new(
            codes::BAD_REQUEST,
            "resume expects a JSON object",
        )),
    };
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    hub.metrics().resumes.with_label_values(&[outcome]).inc();
    if let (Err(e), Some(reply)) = (result, reply) {
        reply.refuse(hub.metrics(), e);
    }
}

/// Moves the player onto the socket; on success the ack (taken from `reply`) is sent.
async fn take_back<A: Adapter>(
    hub: &Arc<Hub>,
    io: &SocketIo<A>,
    socket: &SocketRef<A>,
    payload: &Value,
    reply: &mut Option<Reply<A>>,
) -> Result<(), Rejection> {
    let req = payload::parse_resume(payload)?;
    let sess = Session::required(socket)?;
    let mut membership = sess.membership.lock().await;
    if let Some(m) = membership.as_ref() {
        return Err(Rejection::new(
            codes::ALREADY_JOINED,
            format!("already in room {:?}", m.player.room.name),
        ));
    }
    let claims = hub.credentials().open(&req.credential)?;
    let player = hub
        .players()
        .get(&claims.player)
        .filter(|p| p.room.name == claims.room)
        .ok_or_else(expired)?;
    // The socket carries the player before the ack goes out: a client that moves the
    // moment it has the ack finds itself joined.
    let send = |ok: &_| {
        sess.carry(&mut membership, player.clone());
        if let Some(reply) = reply.take() {
            reply.send(ok);
        }
    };
    let replaced = hub
        .resume(io, socket, &player, (&claims.nonce, req.last_seq), send)
        .await?;
    drop(membership);
    // A connection that dropped without the server noticing yet: its socket no longer
    // carries the player, and goes.
    if let Some(old) = replaced.and_then(|sid| io.get_socket(sid)) {
        if let Some(old_sess) = Session::of(&old) {
            old_sess.release().await;
        }
        let _ = old.disconnect();
    }
    Ok(())
}
