//! The shard's handoff record and the operator's `replacing` mark in Redis (see
//! [`crate::handoff`]).

use super::RedisSeats;
use fred::interfaces::{KeysInterface, SetsInterface};
use fred::types::Expiration;
use roomshard_runtime::redis::RedisError;
use std::time::Duration;

impl RedisSeats {
    /// Whether the operator is replacing this shard (a rollout).
    pub async fn is_replacing(&self) -> Result<bool, RedisError> {
        let r = &self.registry;
        r.call(
            "SISMEMBER replacing",
            r.client
                .sismember::<bool, _, _>(r.keys.replacing(), self.shard.to_string()),
        )
        .await
    }

    /// Writes this shard's handoff record, kept for `ttl`.
    pub async fn put_handoff(&self, record: String, ttl: Duration) -> Result<(), RedisError> {
        let r = &self.registry;
        let secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        r.call(
            "SET handoff",
            r.client.set::<(), _, _>(
                r.keys.handoff(self.shard),
                record,
                Some(Expiration::EX(secs)),
                None,
                false,
            ),
        )
        .await
    }

    /// Takes this shard's handoff record, if an earlier process left one (once: it is
    /// deleted as it is read).
    pub async fn take_handoff(&self) -> Result<Option<Vec<u8>>, RedisError> {
        let r = &self.registry;
        r.call(
            "GETDEL handoff",
            r.client
                .getdel::<Option<Vec<u8>>, _>(r.keys.handoff(self.shard)),
        )
        .await
    }
}
