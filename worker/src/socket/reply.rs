//! Answers: an ack when the client asked for one, else an `error` event.

use crate::error::Rejection;
use crate::metrics::Metrics;
use roomshard_protocol::events::{self, AckError, AckOk, ErrorBody, codes};
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::socket::Socket;

/// `{ok: true}`.
pub fn ok<A: Adapter>(ack: AckSender<A>) {
    let _ = ack.send(&AckOk { ok: true });
}

/// A refusal: as the ack when the client asked for one, else as an `error` event.
pub fn refuse<A: Adapter>(
    metrics: &Metrics,
    socket: &Socket<A>,
    ack: AckSender<A>,
    wants_ack: bool,
    e: Rejection,
) {
    metrics.rejected.with_label_values(&[e.code]).inc();
    if wants_ack {
        let _ = ack.send(&AckError::new(e.code, e.message));
    } else {
        emit_error(metrics, socket, e.code, e.message);
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
        },
    );
}

/// The refusal of an event that needs a joined room.
pub fn not_joined() -> Rejection {
    Rejection::new(codes::NOT_JOINED, "join a room first")
}
