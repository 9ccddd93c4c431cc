//! Answers: an ack when the client asked for one, else an `error` event.

use crate::error::Rejection;
use crate::metrics::Metrics;
use roomshard_protocol::events::{self, AckError, AckOk, ErrorBody, codes};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use std::convert::Infallible;
use std::sync::Arc;

/// How an event is answered: an extractor holding the event's ack, whether the client
/// asked for one, and the socket for an `error` event when it did not.
pub struct Reply<A: Adapter> {
    ack: AckSender<A>,
    wants_ack: bool,
    socket: Arc<Socket<A>>,
}

impl<A: Adapter> FromMessageParts<A> for Reply<A> {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let Ok(ack) = AckSender::from_message_parts(s, v, ack_id);
        Ok(Self {
            ack,
            wants_ack: ack_id.is_some(),
            socket: s.clone(),
        })
    }
}

impl<A: Adapter> Reply<A> {
    pub fn wants_ack(&self) -> bool {
        self.wants_ack
    }

    /// Acks with `data` (nothing happens when no ack was asked for).
    pub fn send<T: Serialize + ?Sized>(self, data: &T) {
        let _ = self.ack.send(data);
    }

    /// Acks with `{ok: true}`.
    pub fn ok(self) {
        self.send(&AckOk { ok: true });
    }

    /// A refusal: as the ack when the client asked for one, else as an `error` event.
    pub fn refuse(self, metrics: &Metrics, e: Rejection) {
        metrics.rejected.with_label_values(&[e.code]).inc();
        let body = ErrorBody {
            code: e.code.to_owned(),
            message: e.message,
            reason: e.reason,
        };
        if self.wants_ack {
            self.send(&AckError {
                ok: false,
                error: body,
            });
        } else {
            metrics.event_out(events::ERROR);
            let _ = self.socket.emit(events::ERROR, &body);
        }
    }

    /// Acks with `{ok: true, data}`.
    pub fn ok_with(self, data: serde_json::Value) {
        self.send(&serde_json::json!({"ok": true, "data": data}));
    }
}

/// An `error` event.
pub fn emit_error<A: Adapter>(
    metrics: &Metrics,
    socket: &Socket<A>,
    code: &str,
    message: impl Into<String>,
) {
    metrics.event_out(events::ERROR);
    let _ = socket.emit(
        events::ERROR,
        &ErrorBody {
            code: code.to_owned(),
            message: message.into(),
            reason: None,
        },
    );
}

/// The refusal of an event that needs a joined room.
pub fn not_joined() -> Rejection {
    Rejection::new(codes::NOT_JOINED, "join a room first")
}
