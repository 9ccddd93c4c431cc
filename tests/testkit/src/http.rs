//! Plain HTTP/1.1 answers read off a raw socket, for tests that talk to the binaries
//! without an HTTP client library.

use anyhow::{Context, Result};

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

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`), with an optional
/// (content type, body), every step bounded by `bound`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
    bound: std::time::Duration,
) -> Result<Answer> {
    request_to(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        method,
        path,
        body,
        bound,
    )
}

/// [`request`] to any address, such as a process in another network namespace.
pub fn request_to(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
    bound: std::time::Duration,
) -> Result<Answer> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, bound)
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(bound))?;
    s.set_write_timeout(Some(bound))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    match body {
        Some((ct, b)) => req += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n", b.len()),
        None if method == "POST" => req += "Content-Length: 0\r\n",
        None => {}
    }
    req += "\r\n";
    if let Some((_, b)) = body {
        req += b;
    }
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .with_context(|| format!("{method} {path}: no complete answer within {bound:?}"))?;
    parse_answer(&raw)
}
