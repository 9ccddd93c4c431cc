//! The pages for people: a live status page at `/` (shards, health, rooms, players,
//! tracks, refreshed from `GET /rooms` every second) and the demo at `/demo` (reserve a
//! seat, join, watch the players in your area of interest move). Each is one HTML file
//! from `web/`, compiled into the binary; the demo imports the modules of the JavaScript
//! client library (clients/js/src), compiled in too and served at `/demo/client/{file}`.
//! Nothing is loaded from elsewhere.

use axum::Router;
use axum::routing::get;
use roomshard_runtime::pages::{self, DEMO_HTML};

pub const STATUS_HTML: &str = include_str!("../../web/status.html");

/// Inline script and style, and the client's modules from this origin; the demo's
/// WebSocket goes to whichever worker its reservation names.
const CSP: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
                   connect-src 'self' ws: wss: http: https:; base-uri 'none'; form-action 'none'";

/// `GET /`, `GET /demo` and `GET /demo/client/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { pages::html(STATUS_HTML, CSP) }))
        .route("/demo", get(|| async { pages::html(DEMO_HTML, CSP) }))
        .merge(pages::client_modules())
}
