//! The one HTTP client of the tests: plain HTTP/1.1 over a raw socket (`Connection: close`),
//! with every step bounded. It sends whatever it is given (any method, content type and
//! bytes) and tolerates a server that answers and closes before it has read a refused
//! body, so hostile-input tests use it too.

use anyhow::{Context, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The bound on connecting, writing and reading of [`send`] and [`get`].
pub const BOUND: Duration = Duration::from_secs(30);

/// A plain HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Content-Type` header, empty when there is none.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body)
            .with_context(|| format!("not JSON ({}): {:.200}", self.status, self.body))
    }
}

/// Parses a complete `Connection: close` answer (plain or chunked body).
pub fn parse_answer(raw: &[u8]) -> Result<Answer> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no end of headers")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .context("no status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").context("truncated chunk size")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = after.get(..size).context("truncated chunk")?;
        out += chunk;
        rest = after.get(size + 2..).context("truncated chunk end")?;
    }
}

/// Whether an I/O error means that the peer closed the connection.
pub fn is_closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    )
}

/// The shards the matchmaker on `port` lists in `GET /rooms`.
pub fn room_shards(port: u16) -> Option<Vec<serde_json::Value>> {
    let rooms = send(port, "GET", "/rooms", None).ok()?.json().ok()?;
    rooms["shards"].as_array().cloned()
}

/// Shards the matchmaker on `port` reports healthy in `GET /rooms`.
pub fn healthy_shards(port: u16) -> Option<usize> {
    Some(
        room_shards(port)?
            .iter()
            .filter(|s| s["healthy"] == true)
            .count(),
    )
}

/// One request to `127.0.0.1:port` with a JSON body when given, bounded by [`BOUND`].
pub fn send(port: u16, method: &str, path: &str, json_body: Option<&str>) -> Result<Answer> {
    let (content_type, body) = json(json_body);
    request(port, method, path, content_type, body, BOUND)
}

/// The content type and bytes of an optional JSON body.
fn json(body: Option<&str>) -> (Option<&'static str>, &[u8]) {
    (
        body.map(|_| "application/json"),
        body.unwrap_or_default().as_bytes(),
    )
}

/// `GET path` on `127.0.0.1:port`, bounded by [`BOUND`].
pub fn get(port: u16, path: &str) -> Result<Answer> {
    request(port, "GET", path, None, b"", BOUND)
}

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`) with an optional
/// content type and a body (a POST always states its length; other methods when the body
/// is not empty), every step bounded by `bound`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    bound: Duration,
) -> Result<Answer> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    request_to(addr, method, path, content_type, body, bound)
}

/// [`request`] to any address, such as a process in another network namespace.
pub fn request_to(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    bound: Duration,
) -> Result<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, bound)
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(bound))?;
    s.set_write_timeout(Some(bound))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(ct) = content_type {
        head += &format!("Content-Type: {ct}\r\n");
    }
    if !body.is_empty() || method == "POST" {
        head += &format!("Content-Length: {}\r\n", body.len());
    }
    head += "\r\n";
    s.write_all(head.as_bytes())?;
    // The server may answer (and close) before it has read a refused body.
    if let Err(e) = s.write_all(body)
        && !is_closed(&e)
    {
        return Err(e.into());
    }
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if is_closed(&e) && !raw.is_empty() => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("{method} {path}: no complete answer within {bound:?}"));
        }
    }
    parse_answer(&raw)
}

/// [`request`] for async tests: the same client, run off the async worker threads.
pub async fn request_async(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    bound: Duration,
) -> Result<Answer> {
    let (method, path) = (method.to_owned(), path.to_owned());
    let (content_type, body) = (content_type.map(str::to_owned), body.to_vec());
    tokio::task::spawn_blocking(move || {
        request(port, &method, &path, content_type.as_deref(), &body, bound)
    })
    .await
    .context("the request task failed")?
}

/// [`send`] for async tests.
pub async fn send_async(
    port: u16,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Result<Answer> {
    let (content_type, body) = json(json_body);
    request_async(port, method, path, content_type, body, BOUND).await
}
