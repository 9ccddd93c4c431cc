//! The one raw Redis client of the tests: a command sent as a RESP array (any bytes in its
//! arguments) on a fresh connection, and its whole reply read and parsed. For tests that
//! need no client library, or that must not share one with the code under test.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A reply of Redis (RESP2, and the RESP3 null).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nil,
    Int(i64),
    Text(String),
    Error(String),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn is_nil(&self) -> bool {
        *self == Reply::Nil
    }

    /// An integer reply, or a bulk string that holds one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            Reply::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Reply::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The strings of an array reply.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Reply::Array(items) => items
                .iter()
                .filter_map(|i| i.as_text().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// One command to the Redis on `127.0.0.1:port`, bounded by 5 s; an error reply is an error.
pub fn query(port: u16, args: &[&str]) -> Result<Reply> {
    query_auth(port, None, args)
}

/// [`query`] after `AUTH password` when one is given.
pub fn query_auth(port: u16, password: Option<&str>, args: &[&str]) -> Result<Reply> {
    let s = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to redis on {port}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    exchange(s, password, args)
}

/// [`query`] through the Unix socket at `path`, after `AUTH password` when one is given
/// (how the tests administer a server whose TCP port speaks only TLS).
pub fn query_unix(path: &Path, password: Option<&str>, args: &[&str]) -> Result<Reply> {
    let s =
        UnixStream::connect(path).with_context(|| format!("connecting to redis on {path:?}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    exchange(s, password, args)
}

fn exchange(
    mut s: impl std::io::Read + Write,
    password: Option<&str>,
    args: &[&str],
) -> Result<Reply> {
    let mut req = String::new();
    if let Some(password) = password {
        req += &format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len());
    }
    req += &format!("*{}\r\n", args.len());
    for a in args {
        req += &format!("${}\r\n{a}\r\n", a.len());
    }
    s.write_all(req.as_bytes())?;
    let mut reader = BufReader::new(s);
    if password.is_some()
        && let Reply::Error(e) = read_reply(&mut reader)?
    {
        bail!("redis AUTH: {e}");
    }
    let reply = read_reply(&mut reader)?;
    if let Reply::Error(e) = &reply {
        bail!("redis {args:?}: {e}");
    }
    Ok(reply)
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).context("empty reply line")?;
    Ok(match kind {
        "+" => Reply::Text(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(rest.parse()?),
        "_" => Reply::Nil,
        "$" => {
            let len: i64 = rest.parse()?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let mut buf = vec![0u8; usize::try_from(len)? + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(buf.len() - 2);
            Reply::Text(String::from_utf8(buf)?)
        }
        "*" => {
            let len: i64 = rest.parse()?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(read_reply(r)?);
            }
            Reply::Array(items)
        }
        other => bail!("unexpected reply type {other:?}"),
    })
}
