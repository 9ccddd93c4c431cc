//! The ops routes every binary serves: `/healthz` (the process answers), `/readyz` (it can do
//! its work: the caller's check decides) and `/metrics` (Prometheus text). No client Service
//! or route exposes them; they sit outside any request tracing.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::borrow::Cow;
use std::future::Future;

/// The content type of the Prometheus text exposition.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the process is not ready: `503 {"error":{"code":"not_ready","message":<why>}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady(pub Cow<'static, str>);

impl From<&'static str> for NotReady {
    fn from(why: &'static str) -> Self {
        Self(Cow::Borrowed(why))
    }
}

impl IntoResponse for NotReady {
    fn into_response(self) -> Response {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": {"code": "not_ready", "message": self.0}})),
        )
            .into_response()
    }
}

/// The three routes. `ready` answers whether the process is ready, `Err` carrying the
/// response to send when it is not (a [`NotReady`], or the binary's own error); `metrics`
/// renders the exposition at each scrape. Merge the result into the binary's router (any
/// state type) or serve it alone.
pub fn router<S, R, F, E, M>(ready: R, metrics: M) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    R: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: IntoResponse,
    M: Fn() -> String + Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route(
            "/readyz",
            get(move || {
                let check = ready();
                async move {
                    match check.await {
                        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
                        Err(why) => why.into_response(),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let text = metrics();
                async move { ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text) }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    async fn fetch(app: &Router, path: &str) -> (StatusCode, Option<String>, String) {
        let resp = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    fn app(ready: Arc<AtomicBool>) -> Router {
        router(
            move || {
                let ready = ready.load(Ordering::SeqCst);
                async move {
                    if ready {
                        Ok(())
                    } else {
                        Err(NotReady::from("heartbeats are not reaching redis"))
                    }
                }
            },
            || "roomshard_up 1\n".to_owned(),
        )
    }

    #[tokio::test]
    async fn health_readiness_and_metrics() {
        let ready = Arc::new(AtomicBool::new(false));
        let app = app(ready.clone());

        let (status, _, body) = fetch(&app, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"status":"ok"}"#);

        let (status, _, body) = fetch(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["error"]["code"], "not_ready");
        assert_eq!(
            body["error"]["message"],
            "heartbeats are not reaching redis"
        );

        ready.store(true, Ordering::SeqCst);
        let (status, _, body) = fetch(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, r#"{"status":"ready"}"#);

        let (status, content_type, body) = fetch(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(METRICS_CONTENT_TYPE));
        assert_eq!(body, "roomshard_up 1\n");
    }

    #[tokio::test]
    async fn a_binary_error_is_its_own_not_ready_answer() {
        let app: Router = router(
            || async { Err((StatusCode::SERVICE_UNAVAILABLE, "redis_unavailable")) },
            String::new,
        );
        let (status, _, body) = fetch(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "redis_unavailable");
    }

    #[tokio::test]
    async fn merges_into_a_router_with_state() {
        #[derive(Clone)]
        struct AppState;
        let app: Router = Router::new()
            .route(
                "/api",
                get(|_: axum::extract::State<AppState>| async { "api" }),
            )
            .merge(router(|| async { Ok::<_, NotReady>(()) }, String::new))
            .with_state(AppState);
        assert_eq!(fetch(&app, "/api").await.2, "api");
        assert_eq!(fetch(&app, "/healthz").await.0, StatusCode::OK);
        assert_eq!(fetch(&app, "/nope").await.0, StatusCode::NOT_FOUND);
    }
}
