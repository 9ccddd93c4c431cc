//! Every event that is not the protocol's own: a custom event the game declared
//! (`EVENTS`), checked against its own rate and size and handed to the hub, which delivers
//! it as its scope says; or an unknown event, refused `bad_request`.

use super::reply::{self, Reply};
use super::session::Session;
use crate::attached::Attached;
use crate::error::Rejection;
use crate::hub::Hub;
use crate::payload;
use crate::rate::Verdict;
use roomshard_protocol::events::codes;
use roomshard_protocol::game_events::EventDecl;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, SocketRef, State};
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use std::convert::Infallible;
use std::sync::Arc;

/// The payload of a custom event as sent: its JSON and its binary attachments, or why it
/// cannot be read.
pub struct Payload(Result<Attached, Rejection>);

impl<A: Adapter> FromMessageParts<A> for Payload {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        v: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(match v {
            Value::Str(raw, bins) => {
                let bins = bins.take().map(Vec::from).unwrap_or_default();
                payload::parse_custom(raw.as_str(), bins.into())
            }
            Value::Bytes(_) => Err(Rejection::new(
                codes::BAD_REQUEST,
                "the event is not a Socket.IO event array",
            )),
        }))
    }
}

/// What refusing the event tells the client.
enum Outcome {
    /// With the `onEvent` hook's reply, if any.
    Relayed(Option<serde_json::Value>),
    Refused(Rejection),
    /// Refused without a word: a rate refusal after the first of its burst, when no ack
    /// was asked for.
    Dropped,
}

pub async fn custom<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    Event(event): Event,
    Payload(payload): Payload,
    reply: Reply<A>,
    State(hub): State<Arc<Hub>>,
) {
    let Some(decl) = hub.events().get(&event) else {
        let shown: String = event.chars().take(64).collect();
        let e = Rejection::new(codes::BAD_REQUEST, format!("unknown event {shown:?}"));
        reply.refuse(hub.metrics(), e);
        return;
    };
    let outcome = relay(&hub, &io, &s, decl, payload, reply.wants_ack()).await;
    let label = match &outcome {
        Outcome::Relayed(_) => "relayed",
        Outcome::Refused(e) => e.code,
        Outcome::Dropped => codes::RATE_LIMITED,
    };
    hub.metrics()
        .custom_events
        .with_label_values(&[decl.name.as_str(), label])
        .inc();
    match outcome {
        Outcome::Relayed(Some(data)) if reply.wants_ack() => reply.ok_with(data),
        Outcome::Relayed(_) if reply.wants_ack() => reply.ok(),
        Outcome::Relayed(_) => {}
        Outcome::Refused(e) => reply.refuse(hub.metrics(), e),
        Outcome::Dropped => {
            hub.metrics()
                .rejected
                .with_label_values(&[codes::RATE_LIMITED])
                .inc();
        }
    }
}

/// Checks a declared event and hands it to the hub.
async fn relay<A: Adapter>(
    hub: &Hub,
    io: &SocketIo<A>,
    s: &SocketRef<A>,
    decl: &EventDecl,
    payload: Result<Attached, Rejection>,
    wants_ack: bool,
) -> Outcome {
    let Some((sess, player)) =
        Session::of(s).and_then(|sess| Some((sess.clone(), sess.current()?)))
    else {
        return Outcome::Refused(reply::not_joined());
    };
    match sess.check_event_rate(decl) {
        Verdict::Allow => {}
        Verdict::Refuse { notify } if notify || wants_ack => {
            return Outcome::Refused(Rejection::new(
                codes::RATE_LIMITED,
                format!(
                    "{:?} may be sent {} times a second; slow down",
                    decl.name, decl.per_second
                ),
            ));
        }
        Verdict::Refuse { .. } | Verdict::Disconnect => return Outcome::Dropped,
    }
    let result = match payload.and_then(|p| payload::check_event_size(&p, decl).map(|()| p)) {
        Ok(p) => hub.relay(io, &player, decl, p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(data) => Outcome::Relayed(data),
        Err(e) => Outcome::Refused(e),
    }
}
