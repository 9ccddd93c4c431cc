//! The worker answers under `/shard/{i}/` as it does at the root, so an ingress that routes
//! by shard id (`/shard/{i}` to shard i's Service, as the operator's Ingress does) needs no
//! rewrite rule, which not every ingress controller has. Any index is taken: a seat on
//! another shard is refused by the join itself (`wrong_shard`).

use axum::http::{Request, Uri};

/// The request with a leading `/shard/<digits>` taken off its path.
pub fn strip<B>(mut req: Request<B>) -> Request<B> {
    if let Some(uri) = stripped(req.uri()) {
        *req.uri_mut() = uri;
    }
    req
}

fn stripped(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let rest = path.strip_prefix("/shard/")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 4 {
        return None;
    }
    let tail = &rest[digits..];
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let tail = if tail.is_empty() { "/" } else { tail };
    let with_query = match uri.query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_owned(),
    };
    with_query.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(uri: &str) -> String {
        let req = Request::builder().uri(uri).body(()).expect("request");
        strip(req).uri().to_string()
    }

    #[test]
    fn the_shard_prefix_comes_off() {
        assert_eq!(
            path_of("/shard/2/socket.io/?EIO=4&transport=websocket"),
            "/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(path_of("/shard/0"), "/");
        assert_eq!(path_of("/shard/1023/socket.io/"), "/socket.io/");
    }

    #[test]
    fn other_paths_stay() {
        for uri in [
            "/socket.io/?EIO=4",
            "/shard/",
            "/shard/x/socket.io/",
            "/shard/2x/socket.io/",
            "/shard/12345/socket.io/",
            "/shards/2/socket.io/",
            "/demo",
        ] {
            assert_eq!(path_of(uri), uri, "{uri}");
        }
    }
}
