//! `leave`, and a socket's disconnection: the player leaves its room. The whole leave,
//! step by step: the socket's membership taken, the player taken out of the room's
//! replica (the room unhosted if it was the last local player), then its seat given back
//! in the registry and the room told. Shutdown waits for leaves still giving seats back.

use super::reply::{self, Reply};
use super::session::Session;
use crate::drain::Drain;
use crate::hub::Hub;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use std::sync::Arc;

pub async fn leave<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
    State(drain): State<Arc<Drain>>,
) {
    if leave_room(&hub, &drain, &io, &s).await {
        reply.ok();
    } else {
        reply.refuse(hub.metrics(), reply::not_joined());
    }
}

pub async fn disconnected<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    State(hub): State<Arc<Hub>>,
    State(drain): State<Arc<Drain>>,
) {
    leave_room(&hub, &drain, &io, &s).await;
    hub.metrics().connections.dec();
}

/// Leaves the socket's room, if any; false when it had none.
async fn leave_room<A: Adapter>(
    hub: &Arc<Hub>,
    drain: &Drain,
    io: &SocketIo<A>,
    socket: &SocketRef<A>,
) -> bool {
    let Some(sess) = Session::of(socket) else {
        return false;
    };
    let _releasing = drain.begin_release();
    let mut membership = sess.membership.lock().await;
    let Some(m) = membership.take() else {
        return false;
    };
    sess.set_current(None);
    drop(membership);
    let id = socket.id.to_string();
    hub.remove(socket, &id, &m.room).await;
    hub.release_seat(io, &id, &m.room.name, &m.track).await;
    true
}
