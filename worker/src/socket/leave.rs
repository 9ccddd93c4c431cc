//! `leave`, and a socket's disconnection. A `leave` is final: the player is taken out of
//! its room (the room unhosted if it was the last local player), its seat given back in
//! the registry and the room told. A dropped connection instead holds the player for the
//! resume window ([`crate::hub`]'s `away`), unless the worker is shutting down. Shutdown
//! waits for leaves still giving seats back.

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
    let _releasing = drain.begin_release();
    let player = match Session::of(&s) {
        Some(sess) => sess.release().await,
        None => None,
    };
    let left = match player {
        Some(player) => {
            hub.depart(&io, &player, Some(&s), |l| l.socket == Some(s.id))
                .await
        }
        None => false,
    };
    if left {
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
    let _releasing = drain.begin_release();
    if let Some(player) = match Session::of(&s) {
        Some(sess) => sess.release().await,
        None => None,
    } {
        hub.disconnected(&io, player, s.id, !drain.is_shutting_down())
            .await;
    }
    hub.metrics().connections.dec();
}
