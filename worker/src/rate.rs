//! The per-socket event rate limiter. Plain logic; the socket layer asks it about every
//! event before the event's handler runs.

use std::time::Instant;

/// The verdict of the rate limiter on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refused; `notify` is true for the first refusal of a burst (tell the client once,
    /// not for every event it floods).
    Refuse {
        notify: bool,
    },
    /// The socket kept sending far over its rate: close it.
    Disconnect,
}

/// A token bucket of events, plus a decaying count of refusals that ends abusive sockets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    burst: f64,
    per_sec: f64,
    tokens: f64,
    strikes: f64,
    strike_limit: f64,
    strike_decay_per_sec: f64,
    last: Instant,
    refusing: bool,
}

impl RateLimiter {
    pub fn new(burst: u32, per_sec: u32, disconnect_after: u32, now: Instant) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_sec.max(1)),
            tokens: f64::from(burst.max(1)),
            strikes: 0.0,
            strike_limit: f64::from(disconnect_after.max(1)),
            strike_decay_per_sec: f64::from(per_sec.max(4)) / 4.0,
            last: now,
            refusing: false,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.per_sec).min(self.burst);
        self.strikes = (self.strikes - dt * self.strike_decay_per_sec).max(0.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refusing = false;
            return Verdict::Allow;
        }
        self.strikes += 1.0;
        if self.strikes >= self.strike_limit {
            return Verdict::Disconnect;
        }
        let notify = !self.refusing;
        self.refusing = true;
        Verdict::Refuse { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(5, 10, 1000, t0);
        for _ in 0..5 {
            assert_eq!(rl.check(t0), Verdict::Allow);
        }
        assert_eq!(rl.check(t0), Verdict::Refuse { notify: true });
        assert_eq!(rl.check(t0), Verdict::Refuse { notify: false });
        // 100 ms refills one token.
        assert_eq!(rl.check(t0 + Duration::from_millis(100)), Verdict::Allow);
        assert_eq!(
            rl.check(t0 + Duration::from_millis(100)),
            Verdict::Refuse { notify: true }
        );
    }

    #[test]
    fn sustained_abuse_disconnects_but_bursts_do_not() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(10, 20, 50, t0);
        // A client at its sustained rate is never cut off.
        for i in 0..1000u64 {
            let v = rl.check(t0 + Duration::from_millis(i * 50));
            assert_eq!(v, Verdict::Allow, "event {i}");
        }
        // A flood is.
        let t1 = t0 + Duration::from_secs(60);
        let mut verdict = Verdict::Allow;
        for i in 0..200u64 {
            verdict = rl.check(t1 + Duration::from_micros(i * 100));
            if verdict == Verdict::Disconnect {
                break;
            }
        }
        assert_eq!(verdict, Verdict::Disconnect);
    }
}
