//! The Origin allowlist of Socket.IO connections. A browser names the page's origin on
//! every request it makes, so a page on another site can neither open a WebSocket nor
//! poll as one of this game's players; a client that is not a browser sends no Origin and
//! is not checked (it could send any).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Checks and normalises the configured origins: `scheme://host[:port]`, no path, no
/// trailing slash, lower case.
pub fn parse_allowlist(raw: &[String]) -> Result<Vec<String>, String> {
    raw.iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| {
            let lower = o.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"))
                .ok_or_else(|| format!("{o:?} must start with https:// or http://"))?;
            if rest.is_empty() || rest.contains('/') || rest.contains(char::is_whitespace) {
                return Err(format!(
                    "{o:?} must be scheme://host[:port], with no path or slash at the end"
                ));
            }
            Ok(lower)
        })
        .collect()
}

/// Whether a request with these headers may reach Socket.IO: any without an Origin, and
/// with one, only an origin on the list (any, when the list is empty).
pub fn allowed(allowlist: &[String], headers: &HeaderMap) -> bool {
    if allowlist.is_empty() {
        return true;
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(v) => v
            .to_str()
            .map(|o| allowlist.iter().any(|a| a.eq_ignore_ascii_case(o)))
            .unwrap_or(false),
    }
}

/// Middleware: 403 in the JSON error shape for a browser request from an origin not on
/// the list.
pub async fn check(
    State(allowlist): State<Arc<Vec<String>>>,
    req: Request,
    next: Next,
) -> Response {
    if allowed(&allowlist, req.headers()) {
        return next.run(req).await;
    }
    (
        StatusCode::FORBIDDEN,
        axum::Json(json!({"error": {"code": "origin_not_allowed",
            "message": "this origin may not open game connections"}})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_origin(o: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("header"));
        h
    }

    #[test]
    fn allowlist_entries_are_bare_origins() {
        let ok = parse_allowlist(&["https://Play.Example.com".into(), " ".into()]);
        assert_eq!(ok, Ok(vec!["https://play.example.com".to_owned()]));
        for bad in [
            "play.example.com",
            "https://x/",
            "https://x/path",
            "ftp://x",
            "https://",
        ] {
            assert!(parse_allowlist(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_listed_origins_pass_and_non_browsers_are_not_checked() {
        let list = vec!["https://play.example.com".to_owned()];
        assert!(allowed(&list, &with_origin("https://play.example.com")));
        assert!(allowed(&list, &with_origin("https://PLAY.example.com")));
        assert!(!allowed(&list, &with_origin("https://evil.example")));
        assert!(!allowed(&list, &with_origin("null")));
        assert!(allowed(&list, &HeaderMap::new()));
        assert!(allowed(&[], &with_origin("https://evil.example")));
    }
}
