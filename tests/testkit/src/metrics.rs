//! The one `/metrics` reader of the tests. Two questions, two names: [`Scrape::value`] is
//! the value of one series, written exactly as exposed (`name` or `name{labels}`);
//! [`Scrape::sum`] adds up every series of one metric, whatever its labels.

use anyhow::{Result, bail};
use std::net::SocketAddr;
use std::time::Duration;

/// One `GET /metrics` of a process, in the Prometheus text format.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
}

impl Scrape {
    /// Scrapes the process on `127.0.0.1:port`; fails unless it answers 200.
    pub fn of(port: u16) -> Result<Self> {
        Self::at(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Scrapes the process listening on `addr`.
    pub fn at(addr: SocketAddr) -> Result<Self> {
        let answer =
            crate::http::request_to(addr, "GET", "/metrics", None, b"", Duration::from_secs(10))?;
        if answer.status != 200 {
            bail!(
                "/metrics on {addr} answered {}: {}",
                answer.status,
                answer.body
            );
        }
        Ok(Self { text: answer.body })
    }

    /// Wraps an exposition already read.
    pub fn from_text(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// `(name{labels}, value)` of every sample line.
    fn samples(&self) -> impl Iterator<Item = (&str, &str)> {
        self.text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
    }

    /// The value of the one series `series`: a metric's name alone, or with its labels
    /// exactly as exposed (`roomshard_worker_events_in_total{event="move"}`).
    pub fn value(&self, series: &str) -> Result<f64> {
        match self.samples().find(|(s, _)| *s == series) {
            Some((_, v)) => Ok(v.parse()?),
            None => bail!("no series {series} in /metrics"),
        }
    }

    /// The sum over every series of the metric `name`, whatever their labels.
    pub fn sum(&self, name: &str) -> Result<f64> {
        let mut found = false;
        let mut sum = 0.0;
        for (series, v) in self.samples() {
            let metric = series.split_once('{').map_or(series, |(m, _)| m);
            if metric == name {
                found = true;
                sum += v.parse::<f64>()?;
            }
        }
        if !found {
            bail!("no series of {name} in /metrics");
        }
        Ok(sum)
    }
}

/// [`Scrape::value`] of the process on `port`, scraped now.
pub fn value(port: u16, series: &str) -> Result<f64> {
    Scrape::of(port)?.value(series)
}

/// [`Scrape::sum`] of the process on `port`, scraped now.
pub fn sum(port: u16, name: &str) -> Result<f64> {
    Scrape::of(port)?.sum(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP a_total help\n# TYPE a_total counter\na_total{k=\"x\"} 2\na_total{k=\"y\"} 3\na_total_extra 100\nb 7\n";

    #[test]
    fn value_is_one_series_and_sum_is_all_of_a_metric() -> Result<()> {
        let s = Scrape::from_text(TEXT);
        assert_eq!(s.value("a_total{k=\"y\"}")?, 3.0);
        assert_eq!(s.value("b")?, 7.0);
        assert!(
            s.value("a_total").is_err(),
            "a labelled metric has no bare series"
        );
        assert_eq!(
            s.sum("a_total")?,
            5.0,
            "another metric sharing the prefix is not added"
        );
        assert_eq!(s.sum("b")?, 7.0);
        assert!(s.sum("c").is_err());
        Ok(())
    }
}
