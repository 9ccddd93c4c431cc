//! The one error type every handler returns, rendered as `{"error":{"code","message"}}`.
//!
//! A failed Redis call becomes an [`AppError`] through `From<RedisError>`; the response
//! carries the error as an extension, and the API's request-counting middleware (and the
//! readiness check) log and count it with [`AppError::record`], the one place either happens.

use crate::metrics::Metrics;
use crate::store::RedisError;
use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// An error a client sees. 5xx variants carry a generic message; the cause goes to the
/// logs, never to the client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("room {0:?} does not exist")]
    RoomNotFound(String),
    #[error("room {0:?} has no free seat")]
    RoomFull(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("no healthy shard has a free seat or room for this request")]
    NoCapacity,
    /// A Redis call failed; the cause is logged and counted by [`AppError::record`].
    #[error("the room registry is unavailable; retry shortly")]
    Redis(#[source] Arc<RedisError>),
    /// Gave up waiting for a Redis read another request made (and which that request
    /// reports), or which failed while waiting.
    #[error("the room registry is unavailable; retry shortly")]
    RedisUnavailable,
    /// No credentials, or credentials that did not verify; the message says which.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A bearer token's caller named another player in the body.
    #[error("the body's player is not the bearer token's subject")]
    PlayerMismatch,
    /// A rate limit; the client may retry after this many seconds.
    #[error("too many reservations from this {0}; retry after the Retry-After header's seconds")]
    RateLimited(&'static str, u64),
    /// The player already holds as many unexpired reservations as allowed.
    #[error("player holds {0} unexpired reservations, the most allowed")]
    ReservationLimit(u32, u64),
    #[error("track {0:?} is not on the list of allowed tracks")]
    TrackNotAllowed(String),
    #[error("track {0:?} has its {1} rooms, the most allowed, and none has a free seat")]
    TrackRoomLimit(String, u32),
    #[error("no such route")]
    NotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::RoomNotFound(_) | AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::RoomFull(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::NoCapacity | AppError::Redis(_) | AppError::RedisUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::PlayerMismatch | AppError::TrackNotAllowed(_) => StatusCode::FORBIDDEN,
            AppError::RateLimited(..) | AppError::ReservationLimit(..) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::TrackRoomLimit(..) => StatusCode::CONFLICT,
        }
    }

    /// The stable code of the contract (docs/openapi.yaml).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::RoomNotFound(_) => "room_not_found",
            AppError::RoomFull(_) => "room_full",
            AppError::TooLarge(_) => "too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::NoCapacity => "no_capacity",
            AppError::Redis(_) | AppError::RedisUnavailable => "redis_unavailable",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::PlayerMismatch => "player_mismatch",
            AppError::RateLimited(..) => "rate_limited",
            AppError::ReservationLimit(..) => "reservation_limit",
            AppError::TrackNotAllowed(_) => "track_not_allowed",
            AppError::TrackRoomLimit(..) => "track_room_limit",
        }
    }

    /// Logs the cause of a failed Redis call and counts it by operation; nothing for
    /// other errors, which the client's answer says all about.
    pub fn record(&self, metrics: &Metrics) {
        if let AppError::Redis(e) = self {
            tracing::warn!(error = %e, op = e.op(), "redis call failed");
            metrics.redis_errors.with_label_values(&[e.op()]).inc();
        }
    }
}

impl From<RedisError> for AppError {
    fn from(e: RedisError) -> Self {
        AppError::Redis(Arc::new(e))
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            AppError::RateLimited(_, secs) | AppError::ReservationLimit(_, secs) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(*secs));
            }
            AppError::Unauthorized(_) => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        if matches!(self, AppError::Redis(_)) {
            response.extensions_mut().insert(self);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn renders_the_contract_envelope() {
        let resp = AppError::RoomFull("r1".into()).into_response();
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let ct = resp.headers().get("content-type").cloned();
        assert_eq!(
            ct.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["error"]["code"], "room_full");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("r1"))
        );
    }

    #[test]
    fn every_5xx_message_is_generic() {
        let timeout = AppError::from(RedisError::Timeout {
            op: "reserve",
            deadline: std::time::Duration::from_millis(100),
        });
        for e in [AppError::NoCapacity, AppError::RedisUnavailable, timeout] {
            assert!(e.status().is_server_error());
            assert!(!e.to_string().contains("redis://"));
        }
    }
}
