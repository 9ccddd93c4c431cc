//! `ApiJson<T>`: the JSON body extractor whose every rejection is an [`AppError`].
//!
//! Order of checks: media type (415), size (413, the body is never read past the limit),
//! then syntax and shape (400, with serde's description of what was wrong). A request
//! without a JSON Content-Type is refused, empty or not, so no cross-site form or
//! `text/plain` request (which browsers send without a preflight) ever reserves; an empty
//! body with a JSON Content-Type stands for `{}`.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::de::DeserializeOwned;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Whether a Content-Type value names JSON (`application/json`, any `+json`, any params).
pub fn is_json_media_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Decodes a body that passed the media-type and size checks.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // serde would also read a struct from an array; docs/openapi.yaml's bodies are objects.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("the body is not a valid request: {e}")))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_len = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_media_type);
        if !json {
            return Err(AppError::UnsupportedMediaType);
        }
        if declared_len.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(AppError::TooLarge(MAX_BODY_BYTES));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge(MAX_BODY_BYTES)
            } else {
                AppError::BadRequest("the request body could not be read".into())
            }
        })?;
        decode_body(&bytes).map(ApiJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
        assert!(!is_json_media_type(""));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Probe {
        #[serde(default)]
        a: Option<String>,
    }

    #[test]
    fn empty_means_empty_object() {
        let p: Probe = decode_body(b"").expect("empty is {}");
        assert!(p.a.is_none());
        let p: Probe = decode_body(b"  \n").expect("blank is {}");
        assert!(p.a.is_none());
    }

    #[test]
    fn shape_errors_are_bad_requests() {
        for bad in [
            &b"{"[..],
            b"[]",
            br#"{"a":1}"#,
            br#"{"b":"x"}"#,
            b"null",
            b"[\"x\"]",
            b"\"{\"",
        ] {
            let err = decode_body::<Probe>(bad).expect_err("bad");
            assert_eq!(err.code(), "bad_request", "{bad:?}");
        }
    }
}
