//! The origin a client reached the matchmaker at, from its request's `Host` and
//! `X-Forwarded-Proto` headers, for templates that start with `{origin}`: behind an ingress
//! the matchmaker answers on whatever host the ingress does, and sends the client back to
//! that same host. A forged header misdirects only the request's own sender, so the value
//! is held to the shape of a host and port, never trusted for anything else.

/// The longest `Host` taken: a DNS name (253) and a port.
const MAX_HOST: usize = 260;

/// `ws://host` or, when the edge says the client spoke TLS (`X-Forwarded-Proto: https`),
/// `wss://host`; `None` for a missing or malformed host.
pub fn request_origin(host: Option<&str>, forwarded_proto: Option<&str>) -> Option<String> {
    let host = host?.trim();
    if host.is_empty() || host.len() > MAX_HOST || !valid_authority(host) {
        return None;
    }
    // A proxy chain lists one protocol per hop; the first is the client's.
    let proto = forwarded_proto
        .and_then(|p| p.split(',').next())
        .map(str::trim);
    let scheme = if proto.is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// `name[:port]` or `[v6]:port` with nothing a URL would read as path, query or userinfo.
fn valid_authority(host: &str) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => ("v6", Some(p)),
                None => return false,
            },
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        }
    };
    let name_ok = !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_become_origins() {
        assert_eq!(
            request_origin(Some("play.example.com"), None).as_deref(),
            Some("ws://play.example.com")
        );
        assert_eq!(
            request_origin(Some("10.214.3.1:30080"), Some("http")).as_deref(),
            Some("ws://10.214.3.1:30080")
        );
        assert_eq!(
            request_origin(Some("Play.Example.com"), Some("https, http")).as_deref(),
            Some("wss://play.example.com")
        );
        assert_eq!(
            request_origin(Some("[::1]:3000"), None).as_deref(),
            Some("ws://[::1]:3000")
        );
    }

    #[test]
    fn malformed_hosts_are_refused() {
        for bad in [
            "",
            " ",
            "evil.com/path",
            "evil.com?x",
            "user@evil.com",
            "evil.com:",
            "evil.com:0",
            "evil.com:99999",
            "evil.com:80:80",
            "-x.com",
            ".x.com",
            "[::1",
            "[::1]x",
            "[zz]:1",
            "a b",
            "x\r\nSet-Cookie: a",
        ] {
            assert_eq!(request_origin(Some(bad), None), None, "{bad:?}");
        }
        assert_eq!(request_origin(None, Some("https")), None);
        assert_eq!(request_origin(Some(&"a".repeat(300)), None), None);
    }
}
