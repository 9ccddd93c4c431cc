//! The worker's shard identity, from either of its two forms.

use roomshard_protocol::ShardId;

/// The shard identity from `ROOM_SHARD`, or `ROOM_SHARD_INDEX` + `ROOM_SHARD_TOTAL`.
/// `ROOM_SHARD` wins when both forms are set. Without either, a worker without Redis is
/// the solo shard 0/1; with Redis the identity is required.
pub fn resolve_shard(
    room_shard: Option<&str>,
    index: Option<&str>,
    total: Option<&str>,
    clustered: bool,
) -> Result<ShardId, String> {
    if let Some(value) = room_shard {
        return value
            .parse::<ShardId>()
            .map_err(|e| e.for_variable("ROOM_SHARD"));
    }
    match (index, total) {
        (Some(index), Some(total)) => format!("{index}/{total}")
            .parse::<ShardId>()
            .map_err(|e| {
                format!(
                    "ROOM_SHARD_INDEX={index:?} with ROOM_SHARD_TOTAL={total:?} is invalid: {e}; expected whole numbers with 0 <= ROOM_SHARD_INDEX < ROOM_SHARD_TOTAL <= {max} (or ROOM_SHARD=<index>/<total>, e.g. ROOM_SHARD=0/3)",
                    max = roomshard_protocol::MAX_SHARDS
                )
            }),
        (Some(_), None) => Err(
            "ROOM_SHARD_INDEX is set but ROOM_SHARD_TOTAL is not; set both, or ROOM_SHARD=<index>/<total> (e.g. ROOM_SHARD=0/3)".into(),
        ),
        (None, Some(_)) => Err(
            "ROOM_SHARD_TOTAL is set but ROOM_SHARD_INDEX is not; set both, or ROOM_SHARD=<index>/<total> (e.g. ROOM_SHARD=0/3)".into(),
        ),
        (None, None) if clustered => Err(
            "ROOM_SHARD is required when REDIS_URL is set; expected ROOM_SHARD=<index>/<total> with 0 <= index < total (e.g. ROOM_SHARD=0/3), or ROOM_SHARD_INDEX and ROOM_SHARD_TOTAL".into(),
        ),
        (None, None) => Ok(ShardId::SOLO),
    }
}
