//! The one raw Redis client of the tests: a command sent as a RESP array (any bytes in its
//! arguments) on a fresh connection, and its whole reply read and parsed. For tests that
//! need no client library, or that must not share one with the code under test. A node of
//! a Redis Cluster that answers `MOVED` or `ASK` is followed to the node it names, so the
//! same helpers work against [`crate::redis_cluster::RedisCluster`].

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

/// Redirections followed for one command (a cluster that is resharding may send two).
const MAX_REDIRECTIONS: usize = 5;

/// [`query`] after `AUTH password` when one is given.
pub fn query_auth(port: u16, password: Option<&str>, args: &[&str]) -> Result<Reply> {
    let mut port = port;
    let mut asking = false;
    for _ in 0..=MAX_REDIRECTIONS {
        let s = TcpStream::connect(("127.0.0.1", port))
            .with_context(|| format!("connecting to redis on {port}"))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        match exchange(s, password, asking, args)? {
            Reply::Error(e) => match redirection(&e) {
                Some((to, ask)) => (port, asking) = (to, ask),
                None => bail!("redis {args:?}: {e}"),
            },
            reply => return Ok(reply),
        }
    }
    bail!("redis {args:?}: more than {MAX_REDIRECTIONS} cluster redirections")
}

/// `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`: the port to go to, and
/// whether the command must be preceded by `ASKING` there.
fn redirection(error: &str) -> Option<(u16, bool)> {
    let mut words = error.split_whitespace();
    let ask = match words.next()? {
        "MOVED" => false,
        "ASK" => true,
        _ => return None,
    };
    let _slot = words.next()?;
    let (_, port) = words.next()?.rsplit_once(':')?;
    Some((port.parse().ok()?, ask))
}

/// [`query`] through the Unix socket at `path`, after `AUTH password` when one is given
/// (how the tests administer a server whose TCP port speaks only TLS).
pub fn query_unix(path: &Path, password: Option<&str>, args: &[&str]) -> Result<Reply> {
    let s =
        UnixStream::connect(path).with_context(|| format!("connecting to redis on {path:?}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    match exchange(s, password, false, args)? {
        Reply::Error(e) => bail!("redis {args:?}: {e}"),
        reply => Ok(reply),
    }
}

/// Sends `args` (after `AUTH` and `ASKING` when asked) and reads the reply, an error reply
/// included.
fn exchange(
    mut s: impl std::io::Read + Write,
    password: Option<&str>,
    asking: bool,
    args: &[&str],
) -> Result<Reply> {
    let mut req = String::new();
    if let Some(password) = password {
        req += &format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len());
    }
    if asking {
        req += "*1\r\n$6\r\nASKING\r\n";
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
    if asking && let Reply::Error(e) = read_reply(&mut reader)? {
        bail!("redis ASKING: {e}");
    }
    read_reply(&mut reader)
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

#[cfg(test)]
mod tests {
    use super::redirection;

    #[test]
    fn cluster_redirections_name_the_node() {
        assert_eq!(
            redirection("MOVED 3999 127.0.0.1:6381"),
            Some((6381, false))
        );
        assert_eq!(redirection("ASK 3999 127.0.0.1:6382"), Some((6382, true)));
        assert_eq!(redirection("ERR unknown command"), None);
        assert_eq!(redirection("MOVED 3999"), None);
    }
}
