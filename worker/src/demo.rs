//! `GET /demo`: the demo page (web/demo.html) in "direct" mode. Served by a worker it
//! skips the matchmaker and joins a room of this worker on the page's own origin without
//! a reservation, which is what a solo run (no Redis) allows. A worker that requires
//! tokens refuses that join, and the page says to open the matchmaker's `/demo` instead.
//!
//! `GET /demo/client/{file}`: the modules of the JavaScript client library
//! (clients/js/src) that the page imports, compiled in like the page itself.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::LazyLock;

const DEMO_HTML: &str = include_str!("../../web/demo.html");

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

static DIRECT_DEMO: LazyLock<String> = LazyLock::new(|| {
    DEMO_HTML.replacen(
        r#"<meta name="roomshard-mode" content="reserve">"#,
        r#"<meta name="roomshard-mode" content="direct">"#,
        1,
    )
});

/// Inline script and style, and the client's modules from this origin.
const CSP: &str = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
                   connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'";

pub fn router() -> Router {
    Router::new()
        .route(
            "/demo",
            get(|| async {
                (
                    [
                        (CONTENT_TYPE, "text/html; charset=utf-8"),
                        (CACHE_CONTROL, "no-cache"),
                        (CONTENT_SECURITY_POLICY, CSP),
                    ],
                    DIRECT_DEMO.as_str(),
                )
            }),
        )
        .route("/demo/client/{file}", get(client_module))
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
        None => (StatusCode::NOT_FOUND, "no such client module\n").into_response(),
    }
}
