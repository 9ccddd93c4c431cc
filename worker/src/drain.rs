//! Draining: refusing new joins while the players already in keep playing. A worker drains
//! for one of two reasons:
//! - its own shutdown (SIGTERM): it says so in the heartbeat and to every client, gives
//!   clients until the drain timeout to move (less what an operator's mark already gave
//!   them), then closes the rest ([`on_shutdown`]);
//! - the operator's mark on scale-down (the shard listed in the set's `draining` set, read
//!   with every heartbeat): it tells its clients, who may reserve elsewhere, and nobody is
//!   disconnected ([`follow_operator_mark`]).

use crate::config::Config;
use crate::heartbeat::Heartbeat;
use crate::http::Readiness;
use crate::metrics::Metrics;
use roomshard_protocol::events;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Whether this worker drains, and the leaves whose seats are still being given back.
pub struct Drain {
    /// Set by this process's own shutdown.
    shutting_down: AtomicBool,
    /// Set while the operator lists this shard in the set's `draining` set (scale-down).
    marked: AtomicBool,
    /// When this process first saw the operator's mark: its clients were told then.
    marked_at: std::sync::Mutex<Option<Instant>>,
    /// Leaves whose seat is not yet given back in the registry; shutdown waits for them.
    releasing: AtomicUsize,
    metrics: Arc<Metrics>,
    /// How long clients are given to move on shutdown.
    timeout: Duration,
}

/// Counts one leave in progress until dropped.
pub struct Releasing<'a>(&'a AtomicUsize);

impl Drop for Releasing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drain {
    pub fn new(metrics: Arc<Metrics>, timeout: Duration) -> Self {
        Self {
            shutting_down: AtomicBool::new(false),
            marked: AtomicBool::new(false),
            marked_at: std::sync::Mutex::new(None),
            releasing: AtomicUsize::new(0),
            metrics,
            timeout,
        }
    }

    /// Draining refuses new joins; players already in keep playing until they leave or
    /// the drain ends.
    pub fn is_draining(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst) || self.marked.load(Ordering::SeqCst)
    }

    /// This process is shutting down: dropped players are not held for a resume.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.metrics.draining.set(1);
    }

    /// Follows the operator's mark; returns true when the shard has just become marked.
    fn follow_mark(&self, marked: bool) -> bool {
        let was = self.marked.swap(marked, Ordering::SeqCst);
        self.metrics.draining.set(i64::from(self.is_draining()));
        let mut at = self.marked_at.lock().unwrap_or_else(|p| p.into_inner());
        match (marked, was) {
            (true, false) => *at = Some(Instant::now()),
            (false, _) => *at = None,
            _ => {}
        }
        marked && !was
    }

    /// How long clients still get to move on shutdown: the drain timeout, less the time
    /// they have had since the operator's mark told them (a scale-down's pod is stopped
    /// only after that drain ran its course, and its players are not given it twice).
    fn shutdown_wait(&self) -> Duration {
        let since_mark = self
            .marked_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map_or(Duration::ZERO, |t| t.elapsed());
        self.timeout.saturating_sub(since_mark)
    }

    /// Marks a leave as started; the seat counts as held until the guard drops.
    pub fn begin_release(&self) -> Releasing<'_> {
        self.releasing.fetch_add(1, Ordering::SeqCst);
        Releasing(&self.releasing)
    }

    /// True while a local player is in a room or a leave has not yet freed its seat.
    fn holds_seats(&self) -> bool {
        self.metrics.players.get() > 0 || self.releasing.load(Ordering::SeqCst) > 0
    }

    /// What clients are told when this worker shuts down (and sockets that connect while
    /// it drains).
    pub fn shutdown_notice(&self) -> events::Draining {
        events::Draining {
            reason: "this worker is shutting down; reserve a seat again".into(),
            closes_in_ms: u64::try_from(self.shutdown_wait().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Sent when the operator drains this shard on scale-down: the worker stays up until its
/// players leave or the operator's drain timeout passes.
/// `closesInMs` is 0: the deadline is the operator's and not known here.
fn operator_notice() -> events::Draining {
    events::Draining {
        reason: "this shard is being scaled down; reserve a seat again when convenient".into(),
        closes_in_ms: 0,
    }
}

/// Reads the operator's mark (with each heartbeat) and, when the shard has just been
/// marked, stops taking joins and tells the clients. `mark_rooms` is handed whether the
/// worker drains (for either reason) before any client is told, so the rooms take no
/// reservation by then.
pub async fn follow_operator_mark<A, F, Fut>(
    drain: &Drain,
    io: &SocketIo<A>,
    hb: &Heartbeat,
    mark_rooms: F,
) where
    A: Adapter,
    F: FnOnce(bool) -> Fut,
    Fut: Future<Output = ()>,
{
    match hb.marked_draining().await {
        Ok(marked) => {
            let newly = drain.follow_mark(marked);
            mark_rooms(drain.is_draining()).await;
            if newly {
                tracing::info!("marked draining by the operator; refusing new joins");
                drain.metrics.event_out(events::DRAINING);
                let _ = io.local().emit(events::DRAINING, &operator_notice()).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the draining mark failed"),
    }
}

/// The drain on shutdown: refuse joins, say so in the heartbeat (`announce`, run once the
/// worker counts as draining) and to every client, give clients until the drain timeout
/// to move, then close the rest.
pub async fn on_shutdown<A: Adapter>(
    drain: &Drain,
    cfg: &Config,
    io: &SocketIo<A>,
    readiness: &Readiness,
    announce: impl Future<Output = ()>,
) {
    drain.begin_shutdown();
    readiness.draining.store(true, Ordering::SeqCst);
    let started = Instant::now();
    announce.await;
    drain.metrics.event_out(events::DRAINING);
    let _ = io
        .local()
        .emit(events::DRAINING, &drain.shutdown_notice())
        .await;
    // Stay visible as draining for at least one heartbeat interval, so readers that poll
    // heartbeats see the state before the record goes.
    let min_visible = cfg.heartbeat_interval.min(cfg.drain_timeout);
    let wait = drain.shutdown_wait().max(min_visible);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let elapsed = started.elapsed();
        let idle = drain.metrics.connections.get() <= 0;
        if elapsed >= wait || (idle && elapsed >= min_visible) {
            break;
        }
    }
    let open = drain.metrics.connections.get();
    if open > 0 {
        tracing::info!(
            open,
            "drain timeout reached; closing the remaining connections"
        );
        let _ = io.local().disconnect().await;
    }
    // Leaves release their seats in disconnect handlers; give them a bounded moment.
    let until = Instant::now() + Duration::from_secs(2);
    while drain.holds_seats() && Instant::now() < until {
        poll.tick().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_reason_drains_and_the_gauge_follows() {
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let drain = Drain::new(metrics.clone(), Duration::from_secs(30));
        assert!(!drain.is_draining());
        assert!(drain.follow_mark(true), "newly marked");
        assert!(!drain.follow_mark(true), "still marked");
        assert!(drain.is_draining());
        assert_eq!(metrics.draining.get(), 1);
        assert!(!drain.follow_mark(false));
        assert_eq!(metrics.draining.get(), 0);
        drain.begin_shutdown();
        assert!(drain.is_draining());
        assert_eq!(metrics.draining.get(), 1);
        assert_eq!(drain.shutdown_notice().closes_in_ms, 30_000);
        assert_eq!(operator_notice().closes_in_ms, 0);
    }

    #[test]
    fn a_scale_down_drain_counts_against_the_shutdown_wait() {
        let drain = Drain::new(
            Arc::new(Metrics::new().expect("metrics")),
            Duration::from_secs(30),
        );
        assert_eq!(
            drain.shutdown_wait(),
            Duration::from_secs(30),
            "never marked"
        );
        drain.follow_mark(true);
        assert!(drain.shutdown_wait() <= Duration::from_secs(30));
        *drain.marked_at.lock().expect("lock") =
            Instant::now().checked_sub(Duration::from_secs(31));
        assert_eq!(
            drain.shutdown_wait(),
            Duration::ZERO,
            "the mark's drain ran its course"
        );
        assert_eq!(drain.shutdown_notice().closes_in_ms, 0);
        drain.follow_mark(false);
        assert_eq!(
            drain.shutdown_wait(),
            Duration::from_secs(30),
            "unmarked: a full wait"
        );
    }

    #[test]
    fn a_leave_holds_its_seat_until_released() {
        let drain = Drain::new(Arc::new(Metrics::new().expect("metrics")), Duration::ZERO);
        assert!(!drain.holds_seats());
        let releasing = drain.begin_release();
        assert!(drain.holds_seats());
        drop(releasing);
        assert!(!drain.holds_seats());
    }
}
