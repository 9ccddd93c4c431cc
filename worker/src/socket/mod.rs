//! The socket layer: Socket.IO events translated into hub calls and answers. Generic over
//! the adapter, so the same code runs alone (local adapter) and clustered (Redis).
//!
//! [`register`] is the routing table: one named handler per event, each a file of its own
//! (`join.rs`, `resume.rs`, `moves.rs`, `state.rs`, `say.rs`, `leave.rs`), and `custom.rs`
//! for every other name (the game's custom events, or unknown). Handlers take socketioxide
//! extractors; the [`Hub`] and the [`Drain`] are the Socket.IO state ([`builder`]), read
//! with `State`. Every event first goes through [`admit::Admitted`] (counted, then rate-limited).

mod admit;
mod custom;
mod join;
mod leave;
mod moves;
mod reply;
mod resume;
mod say;
mod session;
mod state;

use crate::config::Config;
use crate::drain::Drain;
use crate::hub::Hub;
use admit::Admitted;
use roomshard_protocol::events;
use session::Session;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo, SocketIoBuilder};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Bytes each WebSocket connection reads at a time. Player messages are small (a move is
/// about 30 bytes); a larger message is read in several steps. Every idle connection holds
/// this buffer, so it is most of the cost of a connection at rest.
const WS_READ_BUFFER: usize = 1024;
/// Binary attachments a Socket.IO packet may announce. The protocol carries none; a few
/// are tolerated (the event is refused as malformed), more close the connection.
const MAX_ATTACHMENTS: usize = 4;
/// How long the attachments of a packet may take to arrive.
const ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The Socket.IO layer's configuration, with the hub and the drain as its state.
pub fn builder(cfg: &Config, hub: Arc<Hub>, drain: Arc<Drain>) -> SocketIoBuilder {
    let max = cfg.limits.max_message_bytes;
    // `max_payload` bounds polling bodies only; WebSocket messages and frames get the same
    // bound through the WebSocket config, so one limit holds on both transports. The
    // attachments of one packet, held until the last arrives, share that bound too.
    SocketIo::builder()
        .ping_interval(cfg.ping_interval)
        .ping_timeout(cfg.ping_timeout)
        .max_payload(u64::from(max))
        .ws_max_message_size(max as usize)
        .ws_max_frame_size(max as usize)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(MAX_ATTACHMENTS)
                .max_incoming_binary_buf_size(max as usize)
                .packet_completion_timeout(ATTACHMENT_TIMEOUT),
        )
        .with_state(hub)
        .with_state(drain)
}

/// What the connect handler extracts.
type ConnectArgs<A> = (
    SocketRef<A>,
    SocketIo<A>,
    State<Arc<Hub>>,
    State<Arc<Drain>>,
);

/// The namespace's connect handler. The event handlers are registered by a middleware
/// ([`register`]), which runs before the client is told it is connected.
pub fn connect_handler<A: Adapter>() -> impl ConnectHandler<A, ConnectArgs<A>> {
    connected::<A>.with(register::<A>)
}

/// Counts a socket that has connected to the namespace, tells it when this worker is
/// draining, and closes it at the join deadline if it has not joined (or resumed) by then.
async fn connected<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    State(hub): State<Arc<Hub>>,
    State(drain): State<Arc<Drain>>,
) {
    hub.metrics().connections.inc();
    if drain.is_draining() {
        let _ = s.emit(events::DRAINING, &drain.shutdown_notice());
    }
    let (sid, deadline) = (s.id, hub.cfg().edge.join_timeout);
    let metrics = hub.clone();
    tokio::spawn(async move {
        tokio::time::sleep(deadline).await;
        let Some(s) = io.get_socket(sid) else { return };
        if Session::of(&s).is_some_and(|sess| !sess.has_carried()) {
            metrics
                .metrics()
                .disconnects
                .with_label_values(&["join_timeout"])
                .inc();
            let _ = s.disconnect();
        }
    });
}

/// Gives a connecting socket its session and its event handlers. Runs before the client
/// is told it is connected: a client that sends its first event the moment it is
/// connected must find the handlers there, or the event is dropped unseen.
async fn register<A: Adapter>(
    s: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
) -> Result<(), Infallible> {
    Session::attach(&s, &hub.cfg().limits);
    s.on(events::JOIN, Admitted::new(events::JOIN, join::join::<A>));
    s.on(
        events::RESUME,
        Admitted::new(events::RESUME, resume::resume::<A>),
    );
    s.on(events::MOVE, Admitted::new(events::MOVE, moves::moved::<A>));
    s.on(events::SAY, Admitted::new(events::SAY, say::say::<A>));
    s.on(
        events::STATE,
        Admitted::new(events::STATE, state::state::<A>),
    );
    s.on(
        events::LEAVE,
        Admitted::new(events::LEAVE, leave::leave::<A>),
    );
    s.on_fallback(Admitted::fallback(custom::custom::<A>));
    s.on_disconnect(leave::disconnected::<A>);
    Ok(())
}
