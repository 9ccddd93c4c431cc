//! Where a load may be sent: loopback only.

use anyhow::{Result, bail};
use std::net::IpAddr;

/// The host part of an `http(s)://` or `ws(s)://` URL.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// Refuses any target that is not this machine's loopback.
pub fn ensure_loopback(url: &str) -> Result<()> {
    let Some(host) = host_of(url) else {
        bail!("{url:?} is not a URL");
    };
    let ok = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!(
            "{url:?}: the load test only targets loopback addresses (127.0.0.0/8, ::1, localhost)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        for (url, loopback) in [
            ("http://127.0.0.1:8080/reserve", true),
            ("ws://localhost:3000", true),
            ("http://[::1]:80/x", true),
            ("http://127.9.9.9", true),
            ("http://10.0.0.1:80", false),
            ("http://example.com", false),
            ("ws://192.168.1.2", false),
            ("nope", false),
        ] {
            assert_eq!(ensure_loopback(url).is_ok(), loopback, "{url}");
        }
    }
}
