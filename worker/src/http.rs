//! The HTTP side: health, readiness and metrics, next to Socket.IO on the same port.

use crate::metrics::Metrics;
use axum::Router;
use roomshard_runtime::ops::{self, NotReady};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What readiness depends on.
#[derive(Default)]
pub struct Readiness {
    /// Registered in Redis (or running alone).
    pub registered: AtomicBool,
    pub draining: AtomicBool,
    /// When Redis last accepted a heartbeat (ms since the epoch); 0 when running alone.
    pub last_beat_ms: AtomicU64,
    /// After this long without a heartbeat the shard counts as gone (ms); 0 disables.
    pub stale_after_ms: AtomicU64,
}

impl Readiness {
    /// Ready, or why not.
    pub fn check(&self, now_ms: u64) -> Result<(), &'static str> {
        if self.draining.load(Ordering::SeqCst) {
            return Err("draining");
        }
        if !self.registered.load(Ordering::SeqCst) {
            return Err("not registered yet");
        }
        let stale = self.stale_after_ms.load(Ordering::SeqCst);
        let last = self.last_beat_ms.load(Ordering::SeqCst);
        if stale > 0 && now_ms.saturating_sub(last) > stale {
            return Err("heartbeats are not reaching redis");
        }
        Ok(())
    }
}

/// `/healthz`, `/readyz` (ready per [`Readiness::check`]) and `/metrics`.
pub fn router(metrics: Arc<Metrics>, readiness: Arc<Readiness>) -> Router {
    ops::router(
        move || {
            let ready = readiness.check(roomshard_protocol::now_ms());
            std::future::ready(ready.map_err(NotReady::from))
        },
        move || metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_rules() {
        let r = Readiness::default();
        assert_eq!(r.check(0), Err("not registered yet"));
        r.registered.store(true, Ordering::SeqCst);
        assert_eq!(r.check(0), Ok(()));
        r.stale_after_ms.store(6000, Ordering::SeqCst);
        r.last_beat_ms.store(1000, Ordering::SeqCst);
        assert_eq!(r.check(7000), Ok(()));
        assert!(r.check(7001).is_err());
        r.draining.store(true, Ordering::SeqCst);
        assert_eq!(r.check(2000), Err("draining"));
    }
}
