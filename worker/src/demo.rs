//! `GET /demo`: the demo page (web/demo.html) in "direct" mode. Served by a worker it
//! skips the matchmaker and joins a room of this worker on the page's own origin without
//! a reservation, which is what a solo run (no Redis) allows. A worker that requires
//! tokens refuses that join, and the page says to open the matchmaker's `/demo` instead.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::routing::get;
use std::sync::LazyLock;

const DEMO_HTML: &str = include_str!("../../web/demo.html");

static DIRECT_DEMO: LazyLock<String> = LazyLock::new(|| {
    DEMO_HTML.replacen(
        r#"<meta name="roomshard-mode" content="reserve">"#,
        r#"<meta name="roomshard-mode" content="direct">"#,
        1,
    )
});

const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
                   connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'";

pub fn router() -> Router {
    Router::new().route(
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
}
