//! The pages for people: a live status page at `/` (shards, health, rooms, players,
//! tracks, refreshed from `GET /rooms` every second) and the demo at `/demo` (reserve a
//! seat, join, watch the players in your area of interest move). Each is one HTML file
//! from `web/`, compiled into the binary; the demo imports the modules of the JavaScript
//! client library (clients/js/src), compiled in too and served at `/demo/client/{file}`.
//! Nothing is loaded from elsewhere.

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub const STATUS_HTML: &str = include_str!("../../web/status.html");
pub const DEMO_HTML: &str = include_str!("../../web/demo.html");

/// The browser-loadable modules of `@roomshard/client`: `game.js` and what it imports
/// (not `index.js`, which imports socket.io-client from `node_modules`). The client's
/// end-to-end test fails when a module of `clients/js/src` is missing here.
const CLIENT_MODULES: [(&str, &str); 4] = [
    ("game.js", include_str!("../../clients/js/src/game.js")),
    ("seq.js", include_str!("../../clients/js/src/seq.js")),
    ("policy.js", include_str!("../../clients/js/src/policy.js")),
    (
        "reserve.js",
        include_str!("../../clients/js/src/reserve.js"),
    ),
];

/// Inline script and style, and the client's modules from this origin; the demo's
/// WebSocket goes to whichever worker its reservation names.
const CSP: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
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

async fn client_module(Path(file): Path<String>) -> Response {
    match CLIENT_MODULES.iter().find(|(name, _)| *name == file) {
        Some((_, body)) => (
            [
                (CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => crate::error::AppError::NotFound.into_response(),
    }
}

/// `GET /`, `GET /demo` and `GET /demo/client/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { html(STATUS_HTML) }))
        .route("/demo", get(|| async { html(DEMO_HTML) }))
        .route("/demo/client/{file}", get(client_module))
}
