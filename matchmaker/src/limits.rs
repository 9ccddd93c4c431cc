//! The front door's rate limits: a token bucket per client IP and per player, kept in
//! process (each replica limits on its own), and who the client is behind trusted proxies.

use crate::auth::args::{LimitArgs, comma_list};
use crate::error::AppError;
use axum::http::HeaderValue;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most buckets one limiter keeps; past it, buckets that have refilled are dropped, and
/// if none has, the oldest are.
pub const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per key: `burst` requests at once, refilled at `rate` per second.
pub struct Limiter<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    /// `None` when `rate` is 0 (no limit).
    pub fn new(rate: f64, burst: u32) -> Option<Self> {
        (rate > 0.0 && rate.is_finite()).then(|| Limiter {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one token for `key`, or says how long until one is there.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            self.prune(&mut buckets, now);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }

    fn prune(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        let full_after = Duration::from_secs_f64(self.burst / self.rate);
        buckets.retain(|_, b| now.saturating_duration_since(b.at) < full_after);
        if buckets.len() >= MAX_BUCKETS {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cut);
        }
    }
}

/// Whole seconds for a `Retry-After` header, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|e| format!("{s:?} is not an IP or CIDR: {e}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address mapped into IPv6 as itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client of a request: the peer itself, unless the peer is a trusted proxy; then the
/// nearest address of `X-Forwarded-For` that is not a trusted proxy (walking from the
/// right, the hop the proxies appended last), so a client cannot pick its own address by
/// sending the header itself.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    return client;
                }
            }
            // An unreadable hop ends the chain of trust.
            Err(_) => return client,
        }
    }
    client
}

/// The limits of `/reserve` as configured, and the CORS allowlist.
pub struct FrontDoor {
    per_ip: Option<Limiter<IpAddr>>,
    per_player: Option<Limiter<String>>,
    pub trusted_proxies: Vec<Cidr>,
    /// `None`: every valid track name.
    pub allowed_tracks: Option<HashSet<String>>,
    pub cors_origins: Vec<HeaderValue>,
}

impl FrontDoor {
    /// No rate limit, no allowlist (unit tests).
    pub fn open() -> Self {
        FrontDoor {
            per_ip: None,
            per_player: None,
            trusted_proxies: Vec::new(),
            allowed_tracks: None,
            cors_origins: Vec::new(),
        }
    }

    pub fn from_args(a: &LimitArgs) -> Result<Self, String> {
        for (name, rate) in [
            ("RESERVE_RATE_PER_IP", a.reserve_rate_per_ip),
            ("RESERVE_RATE_PER_PLAYER", a.reserve_rate_per_player),
        ] {
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(format!("{name} must be a number of at least 0"));
            }
        }
        let trusted_proxies = comma_list(&a.trusted_proxies)
            .iter()
            .map(|s| s.parse::<Cidr>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("TRUSTED_PROXIES: {e}"))?;
        let tracks = comma_list(&a.allowed_tracks);
        for t in &tracks {
            roomshard_protocol::validate_track(t).map_err(|e| format!("ALLOWED_TRACKS: {e}"))?;
        }
        let cors_origins = comma_list(&a.cors_allowed_origins)
            .iter()
            .map(|o| origin(o))
            .collect::<Result<_, _>>()?;
        Ok(FrontDoor {
            per_ip: Limiter::new(a.reserve_rate_per_ip, a.reserve_burst_per_ip),
            per_player: Limiter::new(a.reserve_rate_per_player, a.reserve_burst_per_player),
            trusted_proxies,
            allowed_tracks: (!tracks.is_empty()).then(|| tracks.into_iter().collect()),
            cors_origins,
        })
    }

    /// The client IP's rate limit.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AppError> {
        match &self.per_ip {
            Some(l) => l
                .check(&ip)
                .map_err(|wait| AppError::RateLimited("client IP", retry_after_secs(wait))),
            None => Ok(()),
        }
    }

    /// The player's rate limit (an unnamed player has none: the IP's limit holds).
    pub fn check_player(&self, player: &str) -> Result<(), AppError> {
        match &self.per_player {
            Some(l) if !player.is_empty() => l
                .check(&player.to_owned())
                .map_err(|wait| AppError::RateLimited("player", retry_after_secs(wait))),
            _ => Ok(()),
        }
    }

    pub fn check_track(&self, track: &str) -> Result<(), AppError> {
        match &self.allowed_tracks {
            Some(allowed) if !allowed.contains(track) => {
                Err(AppError::TrackNotAllowed(track.to_owned()))
            }
            _ => Ok(()),
        }
    }
}

/// A CORS origin: `scheme://host[:port]`, never `*`.
fn origin(s: &str) -> Result<HeaderValue, String> {
    let ok = s.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.contains(['/', '*', ' '])
    });
    if !ok {
        return Err(format!(
            "CORS_ALLOWED_ORIGINS: {s:?} is not an origin like https://game.example"
        ));
    }
    HeaderValue::from_str(s).map_err(|e| format!("CORS_ALLOWED_ORIGINS: {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_the_rate() {
        let l = Limiter::new(2.0, 3).expect("on");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(&"a", t0).is_ok());
        }
        let wait = l.check_at(&"a", t0).expect_err("empty");
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        assert!(l.check_at(&"b", t0).is_ok(), "others are not limited");
        assert!(l.check_at(&"a", t0 + Duration::from_millis(500)).is_ok());
        assert!(Limiter::<&str>::new(0.0, 3).is_none());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_500)), 2);
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted: Vec<Cidr> = ["10.0.0.0/8", "::1"]
            .iter()
            .map(|s| s.parse().expect("cidr"))
            .collect();
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let xff = Some("1.1.1.1, 2.2.2.2, 10.1.1.1");
        assert_eq!(client_ip(ip("9.9.9.9"), xff, &trusted), ip("9.9.9.9"));
        assert_eq!(client_ip(ip("10.0.0.5"), xff, &trusted), ip("2.2.2.2"));
        assert_eq!(
            client_ip(ip("::1"), Some("3.3.3.3"), &trusted),
            ip("3.3.3.3")
        );
        assert_eq!(client_ip(ip("10.0.0.5"), None, &trusted), ip("10.0.0.5"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("junk, 10.2.2.2"), &trusted),
            ip("10.2.2.2")
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains(ip("8.8.8.8")));
        assert!(all.contains(ip("::ffff:8.8.8.8")));
    }
}
