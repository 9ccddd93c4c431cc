//! The HTTP surface: `app(state)` builds the router so tests can drive it with `oneshot`.

use crate::error::AppError;
use crate::extract::{ApiJson, MAX_BODY_BYTES};
use crate::metrics::Metrics;
use crate::placement::{self, Defaults, ShardState};
use crate::reserve::{self, ReserveBody};
use crate::rooms::{self, RoomsQuery};
use crate::store::{ShardArgs, Store};
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roomshard_protocol::UrlTemplate;
use roomshard_protocol::token::TokenKey;
use roomshard_runtime::ops;
use roomshard_runtime::redis::RedisError;
use std::ops::Deref;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tower_http::trace::TraceLayer;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    inner: Inner,
    view: ViewCache,
}

pub struct Inner {
    pub store: Store,
    pub metrics: Metrics,
    pub token_key: TokenKey,
    pub reservation_ttl_ms: u64,
    pub defaults: Defaults,
    pub public_url: UrlTemplate,
    pub worker_base_port: u16,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0.inner
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(Shared {
            inner,
            view: ViewCache::default(),
        }))
    }

    /// Logs and counts a failed Redis call and turns it into the client's 503.
    pub fn redis_failed(&self, e: RedisError) -> AppError {
        tracing::warn!(error = %e, op = e.op(), "redis call failed");
        self.metrics.redis_errors.with_label_values(&[e.op()]).inc();
        AppError::RedisUnavailable
    }

    /// How often the shard view is read again: once per heartbeat interval, as often as
    /// the shards write what it is made of.
    pub fn view_refresh_interval(&self) -> Duration {
        Duration::from_millis(self.defaults.heartbeat_interval_ms.max(100))
    }

    /// Reads every registered shard from Redis, judges it now, updates the shard gauges and
    /// keeps the result as the view reservations plan with.
    pub async fn refresh_shards(&self) -> Result<Arc<ShardView>, AppError> {
        let started = Instant::now();
        let read = self.store.shard_reports().await;
        let (reports, bad) = match read {
            Ok(r) => r,
            Err(e) => {
                self.0.view.failed(Instant::now());
                return Err(self.redis_failed(e));
            }
        };
        for b in &bad {
            tracing::warn!(shard = b.shard, detail = %b.detail, "undecodable heartbeat treated as absent");
        }
        self.metrics.bad_records.inc_by(bad.len() as u64);
        let states = placement::assess(&reports, reserve::now(), &self.defaults, |index, hb| {
            placement::public_url(
                &self.public_url,
                &hb.url,
                index,
                &hb.pod,
                self.worker_base_port,
            )
        });
        self.metrics.known_shards.set(states.len() as i64);
        self.metrics
            .healthy_shards
            .set(states.iter().filter(|s| s.eligible()).count() as i64);
        let view = Arc::new(ShardView::new(states, started));
        self.0.view.keep(&view);
        Ok(view)
    }

    /// The shard view a reservation plans with: the kept one, read at most one interval
    /// ago while the background refresh runs, or a new read when it is older than two.
    pub async fn shard_view(&self) -> Result<Arc<ShardView>, AppError> {
        let max_age = self.view_refresh_interval().saturating_mul(2);
        if let Some(view) = self.0.view.current()
            && view.fetched_at.elapsed() < max_age
        {
            return Ok(view);
        }
        let since = Instant::now()
            .checked_sub(max_age)
            .unwrap_or_else(Instant::now);
        self.shard_view_since(since).await
    }

    /// A view read from Redis after `since`: the kept one if it is that recent, else one
    /// new read shared by every request that asks at the same time. A read that failed
    /// while a caller waited fails that caller too, instead of each trying in turn.
    pub async fn shard_view_since(&self, since: Instant) -> Result<Arc<ShardView>, AppError> {
        let asked = Instant::now();
        let deadline = self.store.deadline().saturating_mul(2);
        let Ok(_turn) = tokio::time::timeout(deadline, self.0.view.refreshing.lock()).await else {
            return Err(AppError::RedisUnavailable);
        };
        if let Some(view) = self.0.view.current()
            && view.fetched_at >= since
        {
            return Ok(view);
        }
        if self.0.view.failed_since(asked) {
            return Err(AppError::RedisUnavailable);
        }
        self.refresh_shards().await
    }
}

/// Every registered shard as placement judged it at `fetched_at`, with what every
/// reservation planned with it shares: the eligible shards as the script receives them, and
/// where new rooms may go.
#[derive(Debug)]
pub struct ShardView {
    pub states: Vec<ShardState>,
    /// When the read that produced it started: it reflects every write made before.
    pub fetched_at: Instant,
    pub eligible: ShardArgs,
    /// Shards that may take a new room, best first (indices into `states`).
    pub new_room_shards: Vec<usize>,
}

impl ShardView {
    pub fn new(states: Vec<ShardState>, fetched_at: Instant) -> Self {
        let eligible = ShardArgs::new(
            states
                .iter()
                .filter(|s| s.eligible())
                .map(|s| (s.shard, s.worker.as_str(), s.url.as_str())),
        );
        let new_room_shards = placement::new_room_candidates(&states, reserve::NEW_ROOM_CANDIDATES)
            .into_iter()
            .filter_map(|c| states.iter().position(|s| s.shard == c.shard))
            .collect();
        Self {
            states,
            fetched_at,
            eligible,
            new_room_shards,
        }
    }

    /// Whether a reservation could be planned differently with `other`: another set of
    /// eligible shards, or another name, address, size or room limit for one of them.
    pub fn plans_differently(&self, other: &ShardView) -> bool {
        fn key(v: &ShardView) -> impl Iterator<Item = (u32, u32, &str, &str, bool, (u32, u32))> {
            v.states.iter().filter(|s| s.eligible()).map(|s| {
                (
                    s.shard,
                    s.total,
                    s.worker.as_str(),
                    s.url.as_str(),
                    s.has_room_slot(),
                    (s.capacity.rooms_per_shard, s.capacity.players_per_room),
                )
            })
        }
        !key(self).eq(key(other))
    }
}

/// The kept shard view, and the turn of whoever reads a new one.
#[derive(Default)]
struct ViewCache {
    current: RwLock<Option<Arc<ShardView>>>,
    last_failure: RwLock<Option<Instant>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl ViewCache {
    fn current(&self) -> Option<Arc<ShardView>> {
        self.current.read().ok().and_then(|v| v.clone())
    }

    /// Keeps `view` unless a view read later is already kept.
    fn keep(&self, view: &Arc<ShardView>) {
        if let Ok(mut current) = self.current.write()
            && current
                .as_ref()
                .is_none_or(|c| c.fetched_at <= view.fetched_at)
        {
            *current = Some(view.clone());
        }
    }

    /// Records a read that failed (`at`: when it gave up).
    fn failed(&self, at: Instant) {
        if let Ok(mut last) = self.last_failure.write() {
            *last = Some(last.map_or(at, |l| l.max(at)));
        }
    }

    fn failed_since(&self, since: Instant) -> bool {
        self.last_failure
            .read()
            .ok()
            .and_then(|l| *l)
            .is_some_and(|at| at >= since)
    }
}

pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/reserve", post(reserve_handler))
        .route("/rooms/reserve", post(reserve_handler))
        .route("/rooms", get(rooms_handler))
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
    let ready = {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move { state.store.ping().await.map_err(|e| state.redis_failed(e)) }
        }
    };
    let metrics = {
        let state = state.clone();
        move || state.metrics.registry.render()
    };
    Router::new()
        .merge(ops::router(ready, metrics))
        .merge(api)
        .merge(crate::pages::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
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
    resp
}

async fn reserve_handler(
    State(state): State<AppState>,
    body: Result<ApiJson<ReserveBody>, AppError>,
) -> Response {
    let started = Instant::now();
    let result = match body.and_then(|ApiJson(b)| reserve::validate(b)) {
        Ok(req) => reserve::reserve(&state, req).await,
        Err(e) => Err(e),
    };
    let (outcome, resp) = match result {
        Ok(r) => (
            if r.reused { "reused" } else { "granted" },
            Json(r.response).into_response(),
        ),
        Err(e) => (e.code(), e.into_response()),
    };
    state
        .metrics
        .reservations
        .with_label_values(&[outcome])
        .inc();
    state
        .metrics
        .reserve_seconds
        .with_label_values(&[outcome])
        .observe(started.elapsed().as_secs_f64());
    resp
}

async fn rooms_handler(
    State(state): State<AppState>,
    query: Result<Query<RoomsQuery>, QueryRejection>,
) -> Result<Json<rooms::RoomsResponse>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    rooms::list(&state, query).await.map(Json)
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
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::http::header::CONTENT_TYPE;
    use http_body_util::BodyExt;
    use roomshard_protocol::Keys;
    use roomshard_protocol::records::Capacity;
    use tower::ServiceExt;

    /// A state whose Redis is a closed port: enough for everything that never reaches it.
    fn state() -> AppState {
        state_at("redis://127.0.0.1:1")
    }

    fn state_at(redis_url: &str) -> AppState {
        let keys = Keys::new("test").expect("set");
        let store = Store::connect(redis_url, keys, Duration::from_millis(100)).expect("url");
        AppState::new(Inner {
            store,
            metrics: Metrics::new().expect("metrics"),
            token_key: TokenKey::random(),
            reservation_ttl_ms: 1_000,
            defaults: Defaults {
                heartbeat_interval_ms: 1_000,
                capacity: Capacity::default(),
            },
            public_url: "ws://127.0.0.1:{port}".parse().expect("template"),
            worker_base_port: 3000,
        })
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

    fn post_json(path: &str, body: impl Into<Body>) -> Request {
        Request::post(path)
            .header(CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request")
    }

    #[tokio::test]
    async fn bad_bodies_never_reach_redis() {
        let cases: Vec<(Request, StatusCode, &str)> = vec![
            (
                post_json("/reserve", "{"),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                post_json("/reserve", r#"{"track":5}"#),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                post_json("/rooms/reserve", r#"{"nope":1}"#),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                post_json(
                    "/reserve",
                    format!(r#"{{"track":"{}"}}"#, "x".repeat(20_000)),
                ),
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
            ),
            (
                Request::post("/reserve")
                    .header(CONTENT_TYPE, "text/plain")
                    .body(Body::from("{}"))
                    .expect("request"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                Request::get("/nowhere")
                    .body(Body::empty())
                    .expect("request"),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                Request::delete("/reserve")
                    .body(Body::empty())
                    .expect("request"),
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
            (
                Request::get("/rooms?track=a:b")
                    .body(Body::empty())
                    .expect("request"),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                Request::get("/rooms?other=1")
                    .body(Body::empty())
                    .expect("request"),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
        ];
        for (req, status, code) in cases {
            let what = format!("{} {}", req.method(), req.uri());
            let (got, body) = send(req).await;
            assert_eq!(got, status, "{what}: {body}");
            assert_eq!(body["error"]["code"], code, "{what}");
        }
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_quick_503() {
        let started = Instant::now();
        let (status, body) = send(post_json("/reserve", "{}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "redis_unavailable");
        let (status, _) = send(Request::get("/readyz").body(Body::empty()).expect("req")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let (status, _) = send(Request::get("/healthz").body(Body::empty()).expect("req")).await;
        assert_eq!(status, StatusCode::OK);
    }

    fn shard(i: u32, eligible: bool) -> ShardState {
        ShardState {
            shard: i,
            total: 3,
            worker: format!("game-{i}"),
            url: format!("ws://h/{i}"),
            healthy: eligible,
            draining: false,
            rooms: 1,
            players: 2,
            capacity: Capacity {
                rooms_per_shard: 10,
                players_per_room: 4,
            },
            tracks: vec![],
            last_heartbeat_ms: 1,
        }
    }

    #[test]
    fn views_plan_differently_only_when_placement_could_change() {
        let now = Instant::now();
        let base = ShardView::new(vec![shard(0, true), shard(1, false)], now);
        assert_eq!(base.eligible.shards(), &[0]);
        assert_eq!(base.new_room_shards, vec![0]);

        // Load and beat times move every interval; they change no plan.
        let mut busier = vec![shard(0, true), shard(1, false)];
        busier[0].players = 9;
        busier[0].rooms = 3;
        busier[0].last_heartbeat_ms = 99;
        assert!(!base.plans_differently(&ShardView::new(busier, now)));

        // A shard that became eligible, moved, or filled its room slots does.
        let started = ShardView::new(vec![shard(0, true), shard(1, true)], now);
        assert!(base.plans_differently(&started));
        let mut moved = vec![shard(0, true), shard(1, false)];
        moved[0].url = "ws://elsewhere/0".into();
        assert!(base.plans_differently(&ShardView::new(moved, now)));
        let mut full = vec![shard(0, true), shard(1, false)];
        full[0].rooms = 10;
        let full = ShardView::new(full, now);
        assert!(base.plans_differently(&full));
        assert!(full.new_room_shards.is_empty());
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
