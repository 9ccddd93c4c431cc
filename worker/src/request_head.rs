//! Gives each request its own copy of its head.
//!
//! The HTTP server parses a request's URI and header values as slices of the connection's
//! read buffer (8 KiB and more), so they keep the whole buffer alive. A request is
//! normally done with in milliseconds, but Socket.IO keeps the head of the request that
//! opened a connection for the connection's whole life. Before this copy, every idle
//! connection held its read buffer: about 16 KB, more than half its memory.

use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderValue, Request, Uri};

/// Replaces the URI and the header values with copies that own their bytes. A part that
/// cannot be copied (it was valid when parsed, so this does not happen) is kept as it is.
pub fn detach<B>(mut req: Request<B>) -> Request<B> {
    let headers = std::mem::take(req.headers_mut());
    *req.headers_mut() = copy_headers(headers);
    if let Ok(uri) = req.uri().to_string().parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    // The router keeps the URI as it arrived, too.
    if let Some(OriginalUri(original)) = req.extensions_mut().get_mut::<OriginalUri>()
        && let Ok(uri) = original.to_string().parse::<Uri>()
    {
        *original = uri;
    }
    req
}

fn copy_headers(headers: HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    let mut name = None;
    for (key, value) in headers {
        // The iterator names a header once, before the first of its values.
        if key.is_some() {
            name = key;
        }
        let Some(name) = name.clone() else { continue };
        let owned = match HeaderValue::from_bytes(value.as_bytes()) {
            Ok(mut v) => {
                v.set_sensitive(value.is_sensitive());
                v
            }
            Err(_) => value,
        };
        copy.append(name, owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn the_copy_keeps_every_value_and_the_uri_but_not_the_buffer() {
        let text = "/socket.io/?EIO=4&transport=websocket a=1 b=2 c=3";
        let buffer = Bytes::from(text.to_owned().into_bytes());
        let part = |s: &str| {
            let at = text.find(s).expect("part of the text");
            buffer.slice(at..at + s.len())
        };
        let uri =
            Uri::from_maybe_shared(part("/socket.io/?EIO=4&transport=websocket")).expect("uri");
        let mut req = Request::builder()
            .uri(uri.clone())
            .extension(OriginalUri(uri))
            .body(())
            .expect("request");
        let h = req.headers_mut();
        for (name, value) in [("x-a", "a=1"), ("x-b", "b=2"), ("x-b", "c=3")] {
            h.append(
                name,
                HeaderValue::from_maybe_shared(part(value)).expect("value"),
            );
        }
        let mut secret = HeaderValue::from_static("token");
        secret.set_sensitive(true);
        h.append("authorization", secret);

        let req = detach(req);
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=websocket");
        let original = req.extensions().get::<OriginalUri>().expect("original uri");
        assert_eq!(original.0, "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(req.headers()["x-a"], "a=1");
        let bs: Vec<_> = req.headers().get_all("x-b").iter().collect();
        assert_eq!(bs, ["b=2", "c=3"]);
        assert!(req.headers()["authorization"].is_sensitive());
        assert_eq!(req.headers().len(), 4);
        // Nothing of the request refers to the buffer any more.
        drop(req);
        assert!(buffer.is_unique());
    }
}
