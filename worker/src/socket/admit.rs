//! What every event goes through before its handler: it is counted by name, and the
//! socket's rate limiter has its say. [`Admitted`] wraps a handler with both, as
//! socketioxide's message middlewares do; a refused event never reaches the handler.
//! Events without a handler of their own are counted under their name when the game
//! declared it, and as `unknown` otherwise, so every label is a name the set knows.

use super::reply;
use super::session::Session;
use crate::hub::Hub;
use crate::rate::Verdict;
use roomshard_protocol::events::codes;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, State};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Time given to queued packets before an abusive socket is closed.
const DISCONNECT_FLUSH: Duration = Duration::from_millis(200);

/// A handler of the event counted as `event` (None: as its declared name, or `unknown`),
/// run only for events the rate limiter allows.
pub struct Admitted<H, T> {
    event: Option<&'static str>,
    handler: H,
    _extractors: PhantomData<fn() -> T>,
}

/// How events nobody declared are counted.
const UNKNOWN: &str = "unknown";

impl<H, T> Admitted<H, T> {
    pub fn new(event: &'static str, handler: H) -> Self {
        Self {
            event: Some(event),
            handler,
            _extractors: PhantomData,
        }
    }

    /// The handler of every event without one of its own.
    pub fn fallback(handler: H) -> Self {
        Self {
            event: None,
            handler,
            _extractors: PhantomData,
        }
    }
}

impl<A, H, T> MessageHandler<A, T> for Admitted<H, T>
where
    A: Adapter,
    H: MessageHandler<A, T>,
    T: Send + Sync + 'static,
{
    fn call(&self, s: Arc<Socket<A>>, mut v: Value, ack_id: Option<i64>) {
        let Ok(State(hub)) = State::<Arc<Hub>>::from_message_parts(&s, &mut v, &ack_id) else {
            return;
        };
        match self.event {
            Some(event) => hub.metrics().event_in(event),
            None => {
                let name = Event::from_message_parts(&s, &mut v, &ack_id).map(|e| e.0);
                let declared = name.ok().and_then(|n| hub.events().get(&n));
                hub.metrics()
                    .event_in(declared.map_or(UNKNOWN, |d| d.name.as_str()));
            }
        }
        if admit(&hub, &s) {
            self.handler.call(s, v, ack_id);
        }
    }
}

/// The rate limiter's say on one event; false when the event must be dropped.
fn admit<A: Adapter>(hub: &Hub, socket: &Arc<Socket<A>>) -> bool {
    let Some(sess) = Session::of(socket) else {
        return false;
    };
    let metrics = hub.metrics();
    match sess.check_rate() {
        Verdict::Allow => true,
        Verdict::Refuse { notify } => {
            metrics
                .rejected
                .with_label_values(&[codes::RATE_LIMITED])
                .inc();
            if notify {
                reply::emit_error(
                    metrics,
                    socket,
                    codes::RATE_LIMITED,
                    "too many events; slow down",
                );
            }
            false
        }
        Verdict::Disconnect => {
            if sess.start_closing() {
                metrics
                    .disconnects
                    .with_label_values(&[codes::RATE_LIMITED])
                    .inc();
                tracing::info!(sid = %socket.id, "disconnecting a socket that kept flooding");
                reply::emit_error(
                    metrics,
                    socket,
                    codes::RATE_LIMITED,
                    "too many events; disconnecting",
                );
                // Closing at once can drop the packets still queued for the socket
                // (the error above); give them a moment to go out first.
                let socket = socket.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(DISCONNECT_FLUSH).await;
                    let _ = socket.disconnect();
                });
            }
            false
        }
    }
}
