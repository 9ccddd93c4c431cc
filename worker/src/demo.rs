//! `GET /demo`: the demo page (web/demo.html) in "direct" mode. Served by a worker it
//! skips the matchmaker and joins a room of this worker on the page's own origin without
//! a reservation, which is what a solo run (no Redis) allows. A worker that requires
//! tokens refuses that join, and the page says to open the matchmaker's `/demo` instead.
//!
//! `GET /demo/client/{file}`: the modules of the JavaScript client library
//! (clients/js/src) that the page imports, compiled in like the page itself.

use axum::Router;
use axum::routing::get;
use roomshard_runtime::pages::{self, DEMO_HTML};
use std::sync::LazyLock;

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
            get(|| async { pages::html(DIRECT_DEMO.as_str(), CSP) }),
        )
        .merge(pages::client_modules())
}
