//! Per-socket state, kept in the socket's extensions, and the extractors that read what
//! socketioxide knows of an event before its handler runs.

use crate::config::Limits;
use crate::error::Rejection;
use crate::hub::Player;
use crate::rate::{RateLimiter, Verdict};
use roomshard_protocol::events::codes;
use roomshard_protocol::game_events::EventDecl;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The player a socket carries.
pub struct Membership {
    pub player: Arc<Player>,
}

/// Per-socket state.
pub struct Session {
    limiter: Mutex<RateLimiter>,
    /// One limiter per declared custom event this socket sent, on top of `limiter`.
    event_limiters: Mutex<HashMap<String, RateLimiter>>,
    /// The player; held across a join, a resume or a leave, so they never interleave.
    pub membership: tokio::sync::Mutex<Option<Membership>>,
    /// The player for moves and chat, readable without waiting on a join in progress.
    current: Mutex<Option<Arc<Player>>>,
    /// Set once the socket is being closed for abuse.
    closing: AtomicBool,
    /// Set by the first join or resume: a socket that never had a player is closed at
    /// the join deadline.
    carried: AtomicBool,
    /// Events extracted so far ([`Arrival`]).
    arrivals: AtomicU64,
    /// The arrival number of the newest move queued; an older one handled later is stale.
    newest_move: AtomicU64,
    /// The same for the newest entity state queued (by `move` or `state`).
    newest_state: AtomicU64,
}

#[derive(Clone)]
struct SessionRef(Arc<Session>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    /// Gives a connecting socket its session.
    pub fn attach<A: Adapter>(socket: &Socket<A>, limits: &Limits) {
        socket.extensions.insert(SessionRef(Arc::new(Session {
            limiter: Mutex::new(RateLimiter::new(
                limits.rate_burst,
                limits.rate_per_sec,
                limits.rate_disconnect_after,
                Instant::now(),
            )),
            event_limiters: Mutex::new(HashMap::new()),
            membership: tokio::sync::Mutex::new(None),
            current: Mutex::new(None),
            closing: AtomicBool::new(false),
            carried: AtomicBool::new(false),
            arrivals: AtomicU64::new(0),
            newest_move: AtomicU64::new(0),
            newest_state: AtomicU64::new(0),
        })));
    }

    /// The session of `socket`; None once the socket is closing.
    pub fn of<A: Adapter>(socket: &Socket<A>) -> Option<Arc<Session>> {
        socket.extensions.get::<SessionRef>().map(|s| s.0)
    }

    /// Like [`Self::of`], as the refusal of an event from a closing socket.
    pub fn required<A: Adapter>(socket: &Socket<A>) -> Result<Arc<Session>, Rejection> {
        Self::of(socket).ok_or_else(|| Rejection::new(codes::UNAVAILABLE, "socket is closing"))
    }

    /// The rate limiter's verdict on an event arriving now.
    pub fn check_rate(&self) -> crate::rate::Verdict {
        lock(&self.limiter).check(Instant::now())
    }

    /// The verdict of the event's own rate (`perSecond`, with a burst of as many) on one
    /// more `decl` event now. Floods are the socket's limiter's to end: this one refuses.
    pub fn check_event_rate(&self, decl: &EventDecl) -> Verdict {
        let now = Instant::now();
        let mut limiters = lock(&self.event_limiters);
        let limiter = limiters
            .entry(decl.name.clone())
            .or_insert_with(|| RateLimiter::new(decl.per_second, decl.per_second, u32::MAX, now));
        match limiter.check(now) {
            Verdict::Disconnect => Verdict::Refuse { notify: false },
            v => v,
        }
    }

    /// True the first time only: the socket is now being closed.
    pub fn start_closing(&self) -> bool {
        !self.closing.swap(true, Ordering::SeqCst)
    }

    /// The player moves and chat are for.
    pub fn current(&self) -> Option<Arc<Player>> {
        lock(&self.current).clone()
    }

    pub fn set_current(&self, player: Option<Arc<Player>>) {
        *lock(&self.current) = player;
    }

    /// The socket carries `player` from now on.
    pub fn carry(&self, membership: &mut Option<Membership>, player: Arc<Player>) {
        self.carried.store(true, Ordering::SeqCst);
        self.set_current(Some(player.clone()));
        *membership = Some(Membership { player });
    }

    /// Whether the socket ever carried a player.
    pub fn has_carried(&self) -> bool {
        self.carried.load(Ordering::SeqCst)
    }

    /// The socket no longer carries a player; the one it carried, if any.
    pub async fn release(&self) -> Option<Arc<Player>> {
        let mut membership = self.membership.lock().await;
        self.set_current(None);
        membership.take().map(|m| m.player)
    }

    /// True when the move that arrived as `n` is newer than every move queued so far.
    pub fn is_newest_move(&self, n: u64) -> bool {
        self.newest_move.fetch_max(n, Ordering::SeqCst) < n
    }

    /// True when the state that arrived as `n` is newer than every state queued so far.
    pub fn is_newest_state(&self, n: u64) -> bool {
        self.newest_state.fetch_max(n, Ordering::SeqCst) < n
    }
}

/// The arrival order of an event on its socket. socketioxide runs each event's handler
/// in a task of its own, so two moves sent one after the other may be handled in either
/// order; extractors, though, run in arrival order, before the task is spawned.
pub struct Arrival(pub u64);

impl<A: Adapter> FromMessageParts<A> for Arrival {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let n = Session::of(s).map_or(0, |sess| sess.arrivals.fetch_add(1, Ordering::SeqCst) + 1);
        Ok(Self(n))
    }
}
