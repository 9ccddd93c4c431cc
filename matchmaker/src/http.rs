//! The HTTP surface: `app(state)` builds the router so tests can drive it with `oneshot`.

use crate::error::AppError;
use crate::extract::MAX_BODY_BYTES;
use crate::handlers::{reserve_handler, room_handler, rooms_handler};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use roomshard_runtime::ops;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// Browsers on the listed origins may call the API; without a list no answer carries an
/// `Access-Control-Allow-Origin`, so no other site's script can read one. Credentials
/// (cookies) are never allowed: callers authenticate with headers.
fn cors(state: &AppState) -> Option<CorsLayer> {
    let origins = state.front.cors_origins.clone();
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                CONTENT_TYPE,
                AUTHORIZATION,
                HeaderName::from_static(crate::auth::API_KEY_HEADER),
            ])
            .max_age(Duration::from_secs(600))
    })
}

/// Everything on one port: the API, the pages and the ops routes (a run without OPS_PORT).
pub fn app(state: AppState) -> Router {
    let (client, ops) = parts(&state);
    finish(client.merge(ops), state)
}

/// The client port's router (the API and the demo) and the ops port's (health,
/// readiness, metrics and the status page), for a run with OPS_PORT.
pub fn split_apps(state: AppState) -> (Router, Router) {
    let (client, ops) = parts(&state);
    (finish(client, state.clone()), finish(ops, state))
}

/// The routes of the client port and of the ops port, without their shared fallbacks.
fn parts(state: &AppState) -> (Router<AppState>, Router<AppState>) {
    let api = Router::new()
        .route("/reserve", post(reserve_handler))
        .route("/rooms/reserve", post(reserve_handler))
        .route("/rooms", get(rooms_handler))
        .route("/rooms/{room}", get(room_handler))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            tracing::info_span!("http", method = %req.method(), route)
        }));

    // A failed ping answers with the store's error, logged and counted here: the ops routes
    // sit outside the API's middleware.
    let ready = {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move {
                state.store.ping().await.map_err(|e| {
                    let e = AppError::from(e);
                    e.record(&state.metrics);
                    e
                })
            }
        }
    };
    let metrics = {
        let state = state.clone();
        move || state.metrics.registry.render()
    };
    let client = Router::new().merge(api).merge(crate::pages::demo());
    let ops = Router::new()
        .merge(ops::router(ready, metrics))
        .merge(crate::pages::status());
    (client, ops)
}

/// The fallbacks, the body limit and the state, then CORS outermost.
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let cors = cors(&state);
    let router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    // Outermost, so a preflight is answered before any route's method check.
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    state
        .metrics
        .http_requests
        .with_label_values(&[route.as_str(), method.as_str(), resp.status().as_str()])
        .inc();
    // The failure an answer carries is logged and counted once, here (see
    // [`AppError::record`]).
    if let Some(e) = resp.extensions().get::<AppError>() {
        e.record(&state.metrics);
    }
    resp
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use axum::body::Body;
    use axum::http::header::CONTENT_TYPE;
    use axum::http::{Method, StatusCode};
    use clap::Parser;
    use http_body_util::BodyExt;
    use std::time::Instant;
    use tower::ServiceExt;

    /// A state whose Redis is a closed port: enough for everything that never reaches it.
    fn state() -> AppState {
        state_at("redis://127.0.0.1:1")
    }

    fn state_at(redis_url: &str) -> AppState {
        let config = Config::try_parse_from([
            "roomshard-matchmaker",
            "--set",
            "test",
            "--redis-url",
            redis_url,
            "--token-secret",
            "0123456789abcdef",
            "--redis-timeout-ms",
            "100",
            "--reservation-ttl-ms",
            "1000",
            "--heartbeat-interval-ms",
            "1000",
            "--auth-mode",
            "none",
        ])
        .expect("config");
        AppState::new(&config).expect("state")
    }

    async fn send(req: Request) -> (StatusCode, serde_json::Value) {
        let resp = app(state()).oneshot(req).await.expect("infallible");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        assert!(ct.starts_with("application/json"), "{status}: {ct}");
        (status, serde_json::from_slice(&bytes).expect("json body"))
    }

    fn empty(method: Method, path: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request")
    }

    fn post_json(path: &str, body: impl Into<Body>) -> Request {
        Request::post(path)
            .header(CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request")
    }

    #[tokio::test]
    async fn bad_bodies_never_reach_redis() {
        let too_long = format!(r#"{{"track":"{}"}}"#, "x".repeat(20_000));
        let text = Request::post("/reserve")
            .header(CONTENT_TYPE, "text/plain")
            .body(Body::from("{}"))
            .expect("request");
        let cases: Vec<(Request, u16, &str)> = vec![
            (post_json("/reserve", "{"), 400, "bad_request"),
            (post_json("/reserve", r#"{"track":5}"#), 400, "bad_request"),
            (
                post_json("/rooms/reserve", r#"{"nope":1}"#),
                400,
                "bad_request",
            ),
            (post_json("/reserve", too_long), 413, "too_large"),
            (text, 415, "unsupported_media_type"),
            (empty(Method::GET, "/nowhere"), 404, "not_found"),
            (empty(Method::DELETE, "/reserve"), 405, "method_not_allowed"),
            (empty(Method::GET, "/rooms?track=a:b"), 400, "bad_request"),
            (empty(Method::GET, "/rooms?bad%20key=1"), 400, "bad_request"),
            (
                empty(Method::GET, "/rooms?mode=a&mode=b"),
                400,
                "bad_request",
            ),
        ];
        for (req, status, code) in cases {
            let what = format!("{} {}", req.method(), req.uri());
            let (got, body) = send(req).await;
            assert_eq!(got.as_u16(), status, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}");
        }
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_quick_503() {
        let started = Instant::now();
        let (status, body) = send(post_json("/reserve", "{}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "redis_unavailable");
        let (status, _) = send(empty(Method::GET, "/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let (status, _) = send(empty(Method::GET, "/healthz")).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_failed_redis_call_is_counted_once_by_operation() {
        let state = state();
        for req in [post_json("/reserve", "{}"), empty(Method::GET, "/readyz")] {
            let resp = app(state.clone()).oneshot(req).await.expect("infallible");
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let text = state.metrics.registry.render();
        for counted in [
            r#"roomshard_matchmaker_redis_errors_total{op="view"} 1"#,
            r#"roomshard_matchmaker_redis_errors_total{op="ping"} 1"#,
        ] {
            assert!(text.contains(counted), "{counted} missing from\n{text}");
        }
    }

    #[tokio::test]
    async fn requests_never_queue_behind_a_failing_view_read() {
        // A "Redis" that accepts connections and never answers, so every call runs into
        // the 100 ms deadline: twenty requests reading the shards one after another would
        // take two seconds. They share one read, and none waits for its turn longer than
        // two deadlines.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let state = state_at(&format!("redis://127.0.0.1:{port}"));
        let started = Instant::now();
        let requests = (0..20).map(|_| {
            let app = app(state.clone());
            tokio::spawn(async move {
                let resp = app
                    .oneshot(post_json("/reserve", "{}"))
                    .await
                    .expect("infallible");
                resp.status()
            })
        });
        for r in requests.collect::<Vec<_>>() {
            assert_eq!(r.await.expect("joined"), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
        silent.abort();
    }
}
