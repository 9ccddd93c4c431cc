//! What the pages of the worker and the matchmaker share: the demo page (web/demo.html),
//! the modules of the JavaScript client library it imports (clients/js/src), and the way
//! a page is answered. Everything is compiled in; nothing is loaded from elsewhere.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// The demo page, in its reserve mode (the matchmaker's); a worker switches it to direct.
pub const DEMO_HTML: &str = include_str!("../../web/demo.html");

/// The browser-loadable modules of `@roomshard/client`: `game.js` and what it imports
/// (not `index.js`, which imports socket.io-client from `node_modules`). The client's
/// end-to-end test fails when a module of `clients/js/src` is missing here.
const CLIENT_MODULES: [(&str, &str); 7] = [
    ("game.js", include_str!("../../clients/js/src/game.js")),
    ("seq.js", include_str!("../../clients/js/src/seq.js")),
    ("policy.js", include_str!("../../clients/js/src/policy.js")),
    (
        "reserve.js",
        include_str!("../../clients/js/src/reserve.js"),
    ),
    ("target.js", include_str!("../../clients/js/src/target.js")),
    ("watch.js", include_str!("../../clients/js/src/watch.js")),
    ("acks.js", include_str!("../../clients/js/src/acks.js")),
];

/// An HTML page under the content security policy `csp`, never cached.
pub fn html(body: &'static str, csp: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, csp),
        ],
        body,
    )
        .into_response()
}

/// `GET /demo/client/{file}`: the client library's modules.
pub fn client_modules<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/demo/client/{file}", get(client_module))
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
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": {"code": "not_found", "message": "no such client module"}})),
        )
            .into_response(),
    }
}
