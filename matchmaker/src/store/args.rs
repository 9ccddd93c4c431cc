//! What the scripts are told about the shards: built once per shard view and shared by
//! every reservation planned with it.

use fred::bytes_utils::Str;
use fred::types::Value;
use std::sync::Arc;

/// Where a new room may go: a shard, the id minted for it there, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub shard: u32,
    pub room: String,
    pub rooms_per_shard: u32,
    pub seats: u32,
}

/// The shards that may take seats (index, worker name, client URL), encoded once for the
/// scripts: the grant script takes the triples, the placement script the indices of the
/// shards the view knows and may not place on. Those are few (stale, draining), so a
/// placement costs the same with 1,024 shards as with 4; the grant of a placed seat is
/// given only its room's shard ([`ShardArgs::only`]).
#[derive(Debug, Clone, Default)]
pub struct ShardArgs(Arc<ShardArgsInner>);

#[derive(Debug, Default)]
struct ShardArgsInner {
    entries: Vec<(u32, Str, Str)>,
    /// Known shards that may not take seats.
    excluded: Vec<u32>,
    /// `X, index…` of `excluded`, for place.lua.
    exclusions: Vec<Value>,
    /// `E, (index, worker, url)…` for grant.lua.
    triples: Vec<Value>,
}

impl ShardArgs {
    /// The `eligible` shards; `excluded` are those the view knows that may not take seats.
    pub fn new<'a>(
        eligible: impl IntoIterator<Item = (u32, &'a str, &'a str)>,
        excluded: impl IntoIterator<Item = u32>,
    ) -> Self {
        Self::from_entries(
            eligible
                .into_iter()
                .map(|(shard, worker, url)| (shard, Str::from(worker), Str::from(url)))
                .collect(),
            excluded.into_iter().collect(),
        )
    }

    fn from_entries(entries: Vec<(u32, Str, Str)>, mut excluded: Vec<u32>) -> Self {
        excluded.sort_unstable();
        excluded.dedup();
        let mut triples = vec![Value::Integer(entries.len() as i64)];
        for (shard, worker, url) in &entries {
            triples.extend([
                Value::Integer(i64::from(*shard)),
                Value::String(worker.clone()),
                Value::String(url.clone()),
            ]);
        }
        let mut exclusions = vec![Value::Integer(excluded.len() as i64)];
        exclusions.extend(excluded.iter().map(|s| Value::Integer(i64::from(*s))));
        Self(Arc::new(ShardArgsInner {
            entries,
            excluded,
            exclusions,
            triples,
        }))
    }

    /// The eligible shards' indices, in order.
    pub fn shards(&self) -> Vec<u32> {
        self.0.entries.iter().map(|(shard, _, _)| *shard).collect()
    }

    pub fn contains(&self, shard: u32) -> bool {
        self.0.entries.iter().any(|(s, _, _)| *s == shard)
    }

    /// The same shards but those `keep` refuses, which join the excluded; shares the
    /// encoding when it keeps all.
    pub fn filtered(&self, keep: impl Fn(u32) -> bool) -> Self {
        if self.0.entries.iter().all(|(s, _, _)| keep(*s)) {
            return self.clone();
        }
        let (kept, dropped): (Vec<_>, Vec<_>) = self
            .0
            .entries
            .iter()
            .cloned()
            .partition(|(s, _, _)| keep(*s));
        let mut excluded = self.0.excluded.clone();
        excluded.extend(dropped.into_iter().map(|(s, _, _)| s));
        Self::from_entries(kept, excluded)
    }

    /// Only `shard`, if it is eligible: what the grant of a seat in one of its rooms needs.
    pub fn only(&self, shard: u32) -> Self {
        let entry = self.0.entries.iter().find(|(s, _, _)| *s == shard).cloned();
        Self::from_entries(entry.into_iter().collect(), Vec::new())
    }

    /// `X, index…`: the known shards that may not take seats.
    pub(super) fn exclusions(&self) -> &[Value] {
        &self.0.exclusions
    }

    pub(super) fn triples(&self) -> &[Value] {
        &self.0.triples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_args_encode_once_and_filter() {
        let args = ShardArgs::new([(0, "w0", "u0"), (2, "w2", "u2")], [1]);
        assert_eq!(args.shards(), vec![0, 2]);
        assert_eq!(args.exclusions(), [Value::Integer(1), Value::Integer(1)]);
        assert_eq!(args.triples().len(), 7);
        let all = args.filtered(|_| true);
        assert!(
            Arc::ptr_eq(&all.0, &args.0),
            "nothing filtered, nothing rebuilt"
        );
        let some = args.filtered(|s| s != 0);
        assert_eq!(some.shards(), vec![2]);
        assert_eq!(some.triples()[0], Value::Integer(1));
        assert!(some.contains(2) && !some.contains(0));
        assert_eq!(
            some.exclusions(),
            [Value::Integer(2), Value::Integer(0), Value::Integer(1)],
            "a shard filtered out is excluded from placement"
        );
        let one = args.only(2);
        assert_eq!(one.shards(), vec![2]);
        assert_eq!(one.triples().len(), 4);
        assert!(
            args.only(1).shards().is_empty(),
            "an excluded shard is not granted"
        );
    }
}
