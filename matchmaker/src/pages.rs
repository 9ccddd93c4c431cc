//! The pages for people: a live status page at `/` (shards, health, rooms, players,
//! tracks, refreshed from `GET /rooms` every second) and the demo at `/demo` (reserve a
//! seat, join, watch the players in your area of interest move). Each is one
//! self-contained HTML file from `web/`, compiled into the binary: no external assets.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

pub const STATUS_HTML: &str = include_str!("../../web/status.html");
pub const DEMO_HTML: &str = include_str!("../../web/demo.html");

/// Inline script and style only; the demo's WebSocket goes to whichever worker its
/// reservation names.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
                   connect-src 'self' ws: wss: http: https:; base-uri 'none'; form-action 'none'";

fn html(body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
}

/// `GET /` and `GET /demo`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { html(STATUS_HTML) }))
        .route("/demo", get(|| async { html(DEMO_HTML) }))
}
