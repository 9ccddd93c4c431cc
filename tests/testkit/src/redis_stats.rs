//! What a Redis server says it did: `INFO commandstats` and `INFO cpu`, read before and
//! after a piece of work, so tests and benchmarks can tell which commands it took and
//! how much of the server's CPU.

use crate::resp::query;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// The commands one server ran and the CPU it used, since it started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// Command (lower case, as `INFO` names it) -> (calls, microseconds spent in it).
    pub commands: BTreeMap<String, (u64, u64)>,
    /// `used_cpu_sys + used_cpu_user`, in microseconds.
    pub cpu_us: u64,
}

impl ServerStats {
    /// Reads the stats of the server on `port`.
    pub fn read(port: u16) -> Result<Self> {
        let info = query(port, &["INFO", "everything"])?;
        let text = info.as_text().context("INFO replied with no text")?;
        Ok(Self::parse(text))
    }

    /// The stats in the text of `INFO`.
    pub fn parse(info: &str) -> Self {
        let mut stats = Self::default();
        let mut cpu_s = 0.0;
        for line in info.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("cmdstat_") {
                let Some((name, fields)) = rest.split_once(':') else {
                    continue;
                };
                let field = |key: &str| {
                    fields
                        .split(',')
                        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                stats
                    .commands
                    .insert(name.to_owned(), (field("calls"), field("usec")));
            } else if let Some((key, value)) = line.split_once(':')
                && matches!(key, "used_cpu_sys" | "used_cpu_user")
            {
                cpu_s += value.parse::<f64>().unwrap_or(0.0);
            }
        }
        stats.cpu_us = (cpu_s * 1e6).round() as u64;
        stats
    }

    /// Calls of `command` (lower case).
    pub fn calls(&self, command: &str) -> u64 {
        self.commands.get(command).map_or(0, |c| c.0)
    }

    /// What happened between `before` and this reading.
    pub fn since(&self, before: &Self) -> Self {
        let commands = self
            .commands
            .iter()
            .map(|(name, &(calls, usec))| {
                let (c0, u0) = before.commands.get(name).copied().unwrap_or((0, 0));
                (
                    name.clone(),
                    (calls.saturating_sub(c0), usec.saturating_sub(u0)),
                )
            })
            .filter(|(_, (calls, _))| *calls > 0)
            .collect();
        Self {
            commands,
            cpu_us: self.cpu_us.saturating_sub(before.cpu_us),
        }
    }

    /// The sum of several servers' stats (the primaries of a cluster).
    pub fn total<'a>(all: impl IntoIterator<Item = &'a Self>) -> Self {
        let mut sum = Self::default();
        for s in all {
            for (name, &(calls, usec)) in &s.commands {
                let entry = sum.commands.entry(name.clone()).or_default();
                entry.0 += calls;
                entry.1 += usec;
            }
            sum.cpu_us += s.cpu_us;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_and_cpu_are_read_and_subtracted() {
        let before = ServerStats::parse(
            "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.500000\r\n\
             # Commandstats\r\ncmdstat_spublish:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0\r\n",
        );
        let after = ServerStats::parse(
            "used_cpu_sys:2.000000\nused_cpu_user:1.000000\n\
             cmdstat_spublish:calls=15,usec=80,usec_per_call=5.33\ncmdstat_evalsha:calls=3,usec=30\n",
        );
        assert_eq!(before.cpu_us, 2_000_000);
        let delta = after.since(&before);
        assert_eq!(delta.cpu_us, 1_000_000);
        assert_eq!(delta.commands.get("spublish"), Some(&(5, 30)));
        assert_eq!(delta.calls("evalsha"), 3);
        assert_eq!(delta.calls("publish"), 0);
        let sum = ServerStats::total([&delta, &delta]);
        assert_eq!(sum.calls("spublish"), 10);
        assert_eq!(sum.cpu_us, 2_000_000);
    }
}
