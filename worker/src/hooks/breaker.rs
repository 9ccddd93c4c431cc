//! A hook's circuit breaker, plain logic over the time it is handed: after `failures`
//! failures in a row it opens and the hook is not called for `open_for`; then one call
//! (the trial) is let through, and its outcome closes the breaker or opens it again.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial call in flight since then.
    Trial {
        since: Instant,
    },
}

#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            state: State::Closed { failures: 0 },
        }
    }

    /// Whether a call may go out now. A trial that never reported back (its caller went
    /// away) lets another one through after `open_for`.
    pub fn admit(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => true,
            State::Open { until } if now < until => false,
            State::Trial { since } if now.duration_since(since) < self.open_for => false,
            State::Open { .. } | State::Trial { .. } => {
                self.state = State::Trial { since: now };
                true
            }
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// Counts a failure; true when it opened the breaker.
    pub fn failure(&mut self, now: Instant) -> bool {
        let open = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => {
                self.state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            _ => true,
        };
        if open {
            self.state = State::Open {
                until: now + self.open_for,
            };
        }
        open
    }

    /// Whether calls are being held off (open, or waiting on its trial).
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_closes_after_a_good_trial() {
        let t0 = Instant::now();
        let open_for = Duration::from_secs(5);
        let mut b = Breaker::new(3, open_for);
        assert!(b.admit(t0));
        assert!(!b.failure(t0));
        b.success();
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert!(b.failure(t0), "the third failure in a row opens it");
        assert!(b.is_open());
        assert!(!b.admit(t0 + Duration::from_secs(1)));
        let later = t0 + open_for;
        assert!(b.admit(later), "the trial");
        assert!(!b.admit(later), "one trial at a time");
        b.success();
        assert!(!b.is_open());
        assert!(b.admit(later));
    }

    #[test]
    fn a_failed_trial_opens_it_again_and_a_lost_one_is_retried() {
        let t0 = Instant::now();
        let open_for = Duration::from_secs(5);
        let mut b = Breaker::new(1, open_for);
        assert!(b.failure(t0));
        assert!(b.admit(t0 + open_for));
        assert!(b.failure(t0 + open_for));
        assert!(!b.admit(t0 + open_for + Duration::from_secs(1)));
        let t2 = t0 + open_for * 2;
        assert!(b.admit(t2), "the second trial");
        assert!(
            b.admit(t2 + open_for),
            "the trial never reported; another goes"
        );
    }
}
