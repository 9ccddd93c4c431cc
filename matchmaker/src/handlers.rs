//! The API's handlers, and the front door every request passes first: the client IP's rate
//! limit, then who is calling, then the request itself, then the player's limits.

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiJson;
use crate::limits::client_ip;
use crate::reserve::{self, ReserveBody};
use crate::rooms::{self, RoomsQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use roomshard_protocol::{fill_origin, request_origin};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

/// The address of the connection's peer (unspecified when the server was started without
/// connection info, as in unit tests).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// The client behind the peer, by the trusted proxies' `X-Forwarded-For`.
fn client(state: &AppState, peer: Peer, headers: &HeaderMap) -> IpAddr {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    client_ip(peer.0, forwarded, &state.front.trusted_proxies)
}

/// The caller, or the 401 it gets (counted by reason).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
    state.auth.authenticate(headers).await.map_err(|refused| {
        state
            .metrics
            .auth_failures
            .with_label_values(&[refused.reason])
            .inc();
        tracing::debug!(reason = refused.reason, "request not authenticated");
        AppError::Unauthorized(refused.message)
    })
}

async fn admit(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: Result<ApiJson<ReserveBody>, AppError>,
) -> Result<reserve::Reserved, AppError> {
    state.front.check_ip(client(state, peer, headers))?;
    let caller = authenticate(state, headers).await?;
    let ApiJson(body) = body?;
    let req = reserve::validate(body, &caller)?;
    let origin = origin(headers);
    if state.urls_from_host && origin.is_none() {
        return Err(AppError::BadRequest(
            "the Host header is missing or malformed, and the shard URLs are built from it".into(),
        ));
    }
    state.front.check_track(&req.track)?;
    state.front.check_player(&req.player)?;
    let mut reserved = reserve::reserve(state, req).await?;
    if let Some(origin) = origin {
        reserved.response.url = fill_origin(&reserved.response.url, &origin);
    }
    Ok(reserved)
}

/// The scheme and host the client reached us at (for URLs that start with `{origin}`).
fn origin(headers: &HeaderMap) -> Option<String> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    request_origin(header("host"), header("x-forwarded-proto"))
}

pub async fn reserve_handler(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<ApiJson<ReserveBody>, AppError>,
) -> Response {
    let started = Instant::now();
    let result = admit(&state, peer, &headers, body).await;
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

/// `GET /rooms`: every authenticated caller may list, nobody else when auth is on.
pub async fn rooms_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<rooms::RoomsResponse>, AppError> {
    authenticate(&state, &headers).await?;
    let Query(pairs) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    rooms::list(&state, RoomsQuery::parse(pairs)?)
        .await
        .map(Json)
}

/// `GET /rooms/{room}`: the same callers as `GET /rooms`.
pub async fn room_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    room: Result<Path<String>, PathRejection>,
) -> Result<Json<rooms::RoomOwner>, AppError> {
    authenticate(&state, &headers).await?;
    let Path(room) = room.map_err(|e| AppError::BadRequest(e.body_text()))?;
    rooms::owner(&state, &room).await.map(Json)
}
