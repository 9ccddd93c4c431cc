//! Latency histograms and rates: pure arithmetic, no clocks.

use serde::Serialize;

/// Sub-buckets per power of two: about 1.1 % relative error.
const SUB_BUCKETS: u64 = 64;
const POWERS: usize = 40;

/// A log-linear histogram of microsecond values with bounded memory.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; POWERS * SUB_BUCKETS as usize],
            total: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let power = 63 - u64::from(value.leading_zeros()) - 5; // value >> power lies in 32..64 … 64..128
    let shift = power;
    let sub = (value >> shift) - SUB_BUCKETS / 2;
    let index = (power as usize + 1) * (SUB_BUCKETS as usize / 2) + sub as usize;
    index.min(POWERS * SUB_BUCKETS as usize - 1)
}

fn bucket_upper(index: usize) -> u64 {
    let half = SUB_BUCKETS as usize / 2;
    if index < SUB_BUCKETS as usize {
        return index as u64;
    }
    let power = index / half - 1;
    let sub = (index % half) as u64 + SUB_BUCKETS / 2;
    ((sub + 1) << power).saturating_sub(1)
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[bucket_of(micros)] += 1;
        self.total += 1;
        self.sum += u128::from(micros);
        self.max = self.max.max(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1), as the upper edge of its bucket.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_upper(i).min(self.max);
            }
        }
        self.max
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            mean_ms: if self.total == 0 {
                0.0
            } else {
                self.sum as f64 / self.total as f64 / 1000.0
            },
            p50_ms: self.quantile(0.50) as f64 / 1000.0,
            p95_ms: self.quantile(0.95) as f64 / 1000.0,
            p99_ms: self.quantile(0.99) as f64 / 1000.0,
            max_ms: self.max as f64 / 1000.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_bucket_error() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000.0), (0.95, 95_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.035, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 100_000);
        assert_eq!(h.count(), 100_000);
    }

    #[test]
    fn small_values_are_exact_and_merge_adds() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(3);
        b.record(5);
        a.merge(&b);
        assert_eq!((a.quantile(0.5), a.quantile(1.0), a.count()), (3, 5, 2));
        assert_eq!(Histogram::default().quantile(0.99), 0);
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for v in (0..10_000_000u64).step_by(997) {
            let b = bucket_of(v);
            assert!(b >= last, "{v}");
            assert!(
                bucket_upper(b) >= v,
                "{v} above its bucket edge {}",
                bucket_upper(b)
            );
            last = b;
        }
    }
}
