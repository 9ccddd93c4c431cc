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
/// scripts: the placement script takes their indices, the grant script the triples.
#[derive(Debug, Clone, Default)]
pub struct ShardArgs(Arc<ShardArgsInner>);

#[derive(Debug, Default)]
struct ShardArgsInner {
    entries: Vec<(u32, Str, Str)>,
    /// `E, index…` for place.lua.
    indices: Vec<Value>,
    /// `E, (index, worker, url)…` for grant.lua.
    triples: Vec<Value>,
}

impl ShardArgs {
    pub fn new<'a>(eligible: impl IntoIterator<Item = (u32, &'a str, &'a str)>) -> Self {
        Self::from_entries(
            eligible
                .into_iter()
                .map(|(shard, worker, url)| (shard, Str::from(worker), Str::from(url)))
                .collect(),
        )
    }

    fn from_entries(entries: Vec<(u32, Str, Str)>) -> Self {
        let count = Value::Integer(entries.len() as i64);
        let mut indices = vec![count.clone()];
        let mut triples = vec![count];
        for (shard, worker, url) in &entries {
            indices.push(Value::Integer(i64::from(*shard)));
            triples.extend([
                Value::Integer(i64::from(*shard)),
                Value::String(worker.clone()),
                Value::String(url.clone()),
            ]);
        }
        Self(Arc::new(ShardArgsInner {
            entries,
            indices,
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

    /// The same shards but those `keep` refuses; shares the encoding when it keeps all.
    pub fn filtered(&self, keep: impl Fn(u32) -> bool) -> Self {
        if self.0.entries.iter().all(|(s, _, _)| keep(*s)) {
            return self.clone();
        }
        Self::from_entries(
            self.0
                .entries
                .iter()
                .filter(|(s, _, _)| keep(*s))
                .cloned()
                .collect(),
        )
    }

    pub(super) fn indices(&self) -> &[Value] {
        &self.0.indices
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
        let args = ShardArgs::new([(0, "w0", "u0"), (2, "w2", "u2")]);
        assert_eq!(args.shards(), vec![0, 2]);
        assert_eq!(args.indices().len(), 3);
        assert_eq!(args.triples().len(), 7);
        assert_eq!(args.indices()[0], Value::Integer(2));
        let all = args.filtered(|_| true);
        assert!(
            Arc::ptr_eq(&all.0, &args.0),
            "nothing filtered, nothing rebuilt"
        );
        let some = args.filtered(|s| s != 0);
        assert_eq!(some.shards(), vec![2]);
        assert_eq!(some.triples()[0], Value::Integer(1));
        assert!(some.contains(2) && !some.contains(0));
    }
}
