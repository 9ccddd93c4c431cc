//! `/healthz`, `/readyz` and `/metrics`.

use crate::metrics::Metrics;
use axum::Router;
use roomshard_runtime::ops::{self, NotReady};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    /// Set once start-up checks passed (the CRD is installed, the lease is set up).
    pub ready: Arc<AtomicBool>,
}

pub fn app(state: HttpState) -> Router {
    let HttpState { metrics, ready } = state;
    ops::router(
        move || {
            let ready = ready.load(Ordering::Relaxed);
            std::future::ready(if ready {
                Ok(())
            } else {
                Err(NotReady::from("starting"))
            })
        },
        move || metrics.render(),
    )
}
