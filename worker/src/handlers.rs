//! Socket.IO event handlers: translate events into hub calls and answers. Generic over
//! the adapter, so the same code runs alone (local adapter) and clustered (Redis).

use crate::hub::{HostedRoom, Hub};
use crate::limits::{self, RateLimiter, Rejection, Verdict};
use roomshard_protocol::events::{self, AckError, AckOk, EntityView, JoinOk, codes};
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Whether the client asked for an acknowledgement of this event.
pub struct AckRequested(pub bool);

impl<A: Adapter> FromMessageParts<A> for AckRequested {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self(ack_id.is_some()))
    }
}

/// The arrival order of an event on its socket. socketioxide runs each event's handler
/// in a task of its own, so two moves sent one after the other may be handled in either
/// order; extractors, though, run in arrival order, before the task is spawned.
pub struct Arrival(u64);

impl<A: Adapter> FromMessageParts<A> for Arrival {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let n = s
            .extensions
            .get::<SessionRef>()
            .map_or(0, |sess| sess.0.arrivals.fetch_add(1, Ordering::SeqCst) + 1);
        Ok(Self(n))
    }
}

/// What a socket has joined.
struct Membership {
    room: Arc<HostedRoom>,
    track: String,
}

/// Per-socket state, kept in the socket's extensions.
pub struct Session {
    limiter: Mutex<RateLimiter>,
    membership: tokio::sync::Mutex<Option<Membership>>,
    /// The room for moves, readable without waiting on a join in progress.
    current: Mutex<Option<Arc<HostedRoom>>>,
    /// Set once the socket is being closed for abuse.
    closing: std::sync::atomic::AtomicBool,
    /// Events extracted so far ([`Arrival`]).
    arrivals: AtomicU64,
    /// The arrival number of the newest move queued; an older one handled later is stale.
    newest_move: AtomicU64,
}

impl Session {
    /// True when the move that arrived as `n` is newer than every move queued so far.
    fn is_newest_move(&self, n: u64) -> bool {
        self.newest_move.fetch_max(n, Ordering::SeqCst) < n
    }
}

/// Time given to queued packets before an abusive socket is closed.
const DISCONNECT_FLUSH: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Clone)]
struct SessionRef(Arc<Session>);

fn session<A: Adapter>(socket: &SocketRef<A>) -> Option<Arc<Session>> {
    socket.extensions.get::<SessionRef>().map(|s| s.0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts a socket that has connected to the namespace, and tells it when this worker is
/// draining. Its handlers are already in place ([`register`]).
pub fn on_connected<A: Adapter>(hub: &Hub<A>, socket: &SocketRef<A>) {
    hub.metrics.connections.inc();
    if hub.is_draining() {
        let _ = socket.emit(events::DRAINING, &draining_notice(hub));
    }
}

/// Registers the state and event handlers of a connecting socket. Runs before the client
/// is told it is connected (from a connect middleware): a client that sends its first
/// event the moment it is connected must find the handlers there, or the event is
/// dropped unseen.
pub fn register<A: Adapter>(hub: Arc<Hub<A>>, socket: SocketRef<A>) {
    let limits = hub.cfg.limits;
    socket.extensions.insert(SessionRef(Arc::new(Session {
        limiter: Mutex::new(RateLimiter::new(
            limits.rate_burst,
            limits.rate_per_sec,
            limits.rate_disconnect_after,
            Instant::now(),
        )),
        membership: tokio::sync::Mutex::new(None),
        current: Mutex::new(None),
        closing: std::sync::atomic::AtomicBool::new(false),
        arrivals: AtomicU64::new(0),
        newest_move: AtomicU64::new(0),
    })));

    let h = hub.clone();
    socket.on(
        events::JOIN,
        move |s: SocketRef<A>,
              TryData(d): TryData<Value>,
              ack: AckSender<A>,
              AckRequested(wants): AckRequested| {
            let hub = h.clone();
            async move {
                hub.metrics.event_in(events::JOIN);
                if !admit(&hub, &s) {
                    return;
                }
                let mut ack = Some(ack);
                let result = match d {
                    Ok(v) => join(&hub, &s, &v, &mut ack).await,
                    Err(_) => Err(Rejection::new(
                        codes::BAD_REQUEST,
                        "join expects a JSON object",
                    )),
                };
                let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
                hub.metrics.joins.with_label_values(&[outcome]).inc();
                if let (Err(e), Some(ack)) = (result, ack) {
                    reply_error(&hub, &s, ack, wants, e);
                }
            }
        },
    );

    let h = hub.clone();
    socket.on(
        events::MOVE,
        move |s: SocketRef<A>,
              Arrival(arrival): Arrival,
              TryData(d): TryData<Value>,
              ack: AckSender<A>,
              AckRequested(wants): AckRequested| {
            let hub = h.clone();
            async move {
                hub.metrics.event_in(events::MOVE);
                if !admit(&hub, &s) {
                    return;
                }
                let result = d
                    .map_err(|_| {
                        Rejection::new(
                            codes::BAD_REQUEST,
                            "move expects {\"x\": number, \"y\": number}",
                        )
                    })
                    .and_then(|v| limits::parse_move(&v, &hub.grid))
                    .and_then(|(x, y)| {
                        let sess = session(&s).ok_or_else(not_joined)?;
                        let room = lock(&sess.current).clone().ok_or_else(not_joined)?;
                        // A newer move already queued wins; this one is superseded.
                        if sess.is_newest_move(arrival) {
                            hub.queue_move(&room, &s.id.to_string(), x, y);
                        }
                        Ok(())
                    });
                match result {
                    Ok(()) => {
                        if wants {
                            let _ = ack.send(&AckOk { ok: true });
                        }
                    }
                    Err(e) => reply_error(&hub, &s, ack, wants, e),
                }
            }
        },
    );

    let h = hub.clone();
    socket.on(
        events::SAY,
        move |s: SocketRef<A>,
              TryData(d): TryData<Value>,
              ack: AckSender<A>,
              AckRequested(wants): AckRequested| {
            let hub = h.clone();
            async move {
                hub.metrics.event_in(events::SAY);
                if !admit(&hub, &s) {
                    return;
                }
                let parsed = d
                    .map_err(|_| {
                        Rejection::new(codes::BAD_REQUEST, "say expects {\"text\": string}")
                    })
                    .and_then(|v| limits::parse_say(&v, hub.cfg.limits.max_say_chars));
                let result = match parsed {
                    Ok(text) => {
                        let room = session(&s).and_then(|sess| lock(&sess.current).clone());
                        match room {
                            Some(room) => hub.say(&room.name, &s.id.to_string(), text).await,
                            None => Err(not_joined()),
                        }
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        let _ = ack.send(&AckOk { ok: true });
                    }
                    Err(e) => reply_error(&hub, &s, ack, wants, e),
                }
            }
        },
    );

    let h = hub.clone();
    socket.on(
        events::LEAVE,
        move |s: SocketRef<A>, ack: AckSender<A>, AckRequested(wants): AckRequested| {
            let hub = h.clone();
            async move {
                hub.metrics.event_in(events::LEAVE);
                if !admit(&hub, &s) {
                    return;
                }
                if leave(&hub, &s).await {
                    let _ = ack.send(&AckOk { ok: true });
                } else {
                    reply_error(&hub, &s, ack, wants, not_joined());
                }
            }
        },
    );

    let h = hub.clone();
    socket.on_fallback(
        move |s: SocketRef<A>,
              Event(event): Event,
              ack: AckSender<A>,
              AckRequested(wants): AckRequested| {
            let hub = h.clone();
            async move {
                hub.metrics.event_in("unknown");
                if !admit(&hub, &s) {
                    return;
                }
                let e = Rejection::new(
                    codes::BAD_REQUEST,
                    format!("unknown event {:?}", truncate(&event, 64)),
                );
                reply_error(&hub, &s, ack, wants, e);
            }
        },
    );

    let h = hub;
    socket.on_disconnect(move |s: SocketRef<A>| {
        let hub = h.clone();
        async move {
            leave(&hub, &s).await;
            hub.metrics.connections.dec();
        }
    });
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn not_joined() -> Rejection {
    Rejection::new(codes::NOT_JOINED, "join a room first")
}

pub fn draining_notice<A: Adapter>(hub: &Hub<A>) -> events::Draining {
    events::Draining {
        reason: "this worker is shutting down; reserve a seat again".into(),
        closes_in_ms: u64::try_from(hub.cfg.drain_timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// Sent when the operator drains this shard on scale-down: the worker stays up until its
/// players leave or the operator's drain timeout passes.
/// `closesInMs` is 0: the deadline is the operator's and not known here.
pub fn operator_drain_notice() -> events::Draining {
    events::Draining {
        reason: "this shard is being scaled down; reserve a seat again when convenient".into(),
        closes_in_ms: 0,
    }
}

/// The rate limiter's say on one event; false when the event must be dropped.
fn admit<A: Adapter>(hub: &Hub<A>, socket: &SocketRef<A>) -> bool {
    let Some(sess) = session(socket) else {
        return false;
    };
    let verdict = lock(&sess.limiter).check(Instant::now());
    match verdict {
        Verdict::Allow => true,
        Verdict::Refuse { notify } => {
            hub.metrics
                .rejected
                .with_label_values(&[codes::RATE_LIMITED])
                .inc();
            if notify {
                hub.metrics.event_out(events::ERROR);
                let _ = socket.emit(
                    events::ERROR,
                    &events::ErrorBody {
                        code: codes::RATE_LIMITED.into(),
                        message: "too many events; slow down".into(),
                    },
                );
            }
            false
        }
        Verdict::Disconnect => {
            if !sess.closing.swap(true, std::sync::atomic::Ordering::SeqCst) {
                hub.metrics
                    .disconnects
                    .with_label_values(&[codes::RATE_LIMITED])
                    .inc();
                tracing::info!(sid = %socket.id, "disconnecting a socket that kept flooding");
                hub.metrics.event_out(events::ERROR);
                let _ = socket.emit(
                    events::ERROR,
                    &events::ErrorBody {
                        code: codes::RATE_LIMITED.into(),
                        message: "too many events; disconnecting".into(),
                    },
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

/// An ack error when the client asked for an ack, else an `error` event.
fn reply_error<A: Adapter>(
    hub: &Hub<A>,
    socket: &SocketRef<A>,
    ack: AckSender<A>,
    wants_ack: bool,
    e: Rejection,
) {
    hub.metrics.rejected.with_label_values(&[e.code]).inc();
    if wants_ack {
        let _ = ack.send(&AckError::new(e.code, e.message));
    } else {
        hub.metrics.event_out(events::ERROR);
        let _ = socket.emit(
            events::ERROR,
            &events::ErrorBody {
                code: e.code.to_owned(),
                message: e.message,
            },
        );
    }
}

/// Seats the socket; on success the ack (taken from `ack`) is already sent.
async fn join<A: Adapter>(
    hub: &Arc<Hub<A>>,
    socket: &SocketRef<A>,
    payload: &Value,
    ack: &mut Option<AckSender<A>>,
) -> Result<(), Rejection> {
    let req = limits::parse_join(payload, hub.cfg.limits.max_name_chars)?;
    if hub.is_draining() {
        return Err(Rejection::new(
            codes::DRAINING,
            "this worker is draining; reserve a seat again",
        ));
    }
    let sess =
        session(socket).ok_or_else(|| Rejection::new(codes::UNAVAILABLE, "socket is closing"))?;
    let mut membership = sess.membership.lock().await;
    if let Some(m) = membership.as_ref() {
        return Err(Rejection::new(
            codes::ALREADY_JOINED,
            format!("already in room {:?}; leave it first", m.room.name),
        ));
    }
    let cfg = &hub.cfg;
    let seat = match (&req.token, &cfg.token_key) {
        (Some(token), Some(key)) => {
            let claims = key
                .verify(token, roomshard_protocol::now_ms())
                .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
            if claims.set != cfg.keys.set() {
                return Err(Rejection::new(
                    codes::RESERVATION_INVALID,
                    format!("the token is for set {:?}", claims.set),
                ));
            }
            if claims.shard != cfg.shard.index() {
                return Err(Rejection::new(
                    codes::WRONG_SHARD,
                    format!(
                        "the token is for shard {}, this is shard {}",
                        claims.shard,
                        cfg.shard.index()
                    ),
                ));
            }
            if claims.room != req.room {
                return Err(Rejection::new(
                    codes::RESERVATION_INVALID,
                    format!("the token is for room {:?}", claims.room),
                ));
            }
            hub.seats.join_reserved(&req.room, &claims.nonce).await?
        }
        _ if cfg.require_token => {
            return Err(Rejection::new(
                codes::TOKEN_REQUIRED,
                "a reservation token from the matchmaker is required",
            ));
        }
        _ => {
            hub.seats
                .join_open(&req.room, &cfg.default_track, cfg.room_capacity)
                .await?
        }
    };
    let id = socket.id.to_string();
    let name = req
        .name
        .unwrap_or_else(|| format!("player-{}", truncate(&id, 6)));
    let players = seat.players;
    let track = seat.track.clone();
    let seated = |view: &[EntityView]| {
        let ok = JoinOk {
            ok: true,
            room: req.room.clone(),
            shard: cfg.shard.index(),
            self_id: id.clone(),
            players,
            view: view.to_vec(),
            width: hub.grid.width(),
            height: hub.grid.height(),
            radius: hub.grid.radius(),
            cells: hub.grid.reach(),
        };
        if let Some(ack) = ack.take() {
            let _ = ack.send(&ok);
        }
    };
    let joined = hub.join(socket, &req.room, &name, seat, seated).await;
    *lock(&sess.current) = Some(joined.room.clone());
    *membership = Some(Membership {
        room: joined.room.clone(),
        track,
    });
    drop(membership);
    hub.presence(&req.room, players, vec![id.clone()], vec![])
        .await;
    Ok(())
}

/// Leaves the socket's room, if any; false when it had none.
async fn leave<A: Adapter>(hub: &Arc<Hub<A>>, socket: &SocketRef<A>) -> bool {
    let Some(sess) = session(socket) else {
        return false;
    };
    let _releasing = hub.begin_release();
    let mut membership = sess.membership.lock().await;
    let Some(m) = membership.take() else {
        return false;
    };
    *lock(&sess.current) = None;
    drop(membership);
    let id = socket.id.to_string();
    hub.leave(Some(socket), &id, &m.room).await;
    hub.release_seat(&id, &m.room.name, &m.track).await;
    true
}
