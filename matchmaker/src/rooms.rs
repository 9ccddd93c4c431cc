//! GET /rooms: shards and rooms as the registry sees them, with lost rooms flagged.

use crate::error::AppError;
use crate::placement::ShardState;
use crate::state::AppState;
use crate::store::RoomRow;
use serde::{Deserialize, Serialize};

/// Most rooms one page returns (`limit` may ask for fewer).
pub const MAX_LISTED_ROOMS: usize = 5_000;
/// Rooms per page when `limit` is not given.
pub const DEFAULT_LISTED_ROOMS: usize = 1_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomsQuery {
    #[serde(default)]
    pub track: Option<String>,
    /// Rooms per page, 1 to [`MAX_LISTED_ROOMS`].
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub room: String,
    pub track: String,
    pub shard: u32,
    pub players: u32,
    pub reserved: u32,
    pub capacity: u32,
    /// The room's shard stopped beating while the room lived.
    pub lost: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomsResponse {
    pub shards: Vec<ShardState>,
    pub rooms: Vec<RoomView>,
    /// More rooms exist than this page returns.
    pub truncated: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Marks rooms lost when their shard is not healthy (missing or stale heartbeat); draining
/// shards are alive. Returns the views and the rooms newly found lost.
pub fn judge_rooms(rows: Vec<RoomRow>, shards: &[ShardState]) -> (Vec<RoomView>, Vec<String>) {
    let mut newly_lost = Vec::new();
    let views = rows
        .into_iter()
        .map(|r| {
            let alive = shards.iter().any(|s| s.shard == r.shard && s.healthy);
            if !alive && !r.lost {
                newly_lost.push(r.room.clone());
            }
            RoomView {
                lost: r.lost || !alive,
                room: r.room,
                track: r.track,
                shard: r.shard,
                players: r.players,
                reserved: r.reserved,
                capacity: r.capacity,
            }
        })
        .collect();
    (views, newly_lost)
}

pub async fn list(state: &AppState, query: RoomsQuery) -> Result<RoomsResponse, AppError> {
    if let Some(track) = &query.track {
        roomshard_protocol::validate_track(track)
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
    }
    let limit = query.limit.unwrap_or(DEFAULT_LISTED_ROOMS);
    if !(1..=MAX_LISTED_ROOMS).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be 1 to {MAX_LISTED_ROOMS}"
        )));
    }
    let offset = match &query.cursor {
        Some(c) => c
            .parse::<u64>()
            .ok()
            .filter(|o| *o <= 100_000_000)
            .ok_or_else(|| AppError::BadRequest("cursor is not a cursor of /rooms".into()))?,
        None => 0,
    };
    let view = state.shards.refresh().await?;
    let shards = view.states.clone();
    let (rows, next) = state
        .store
        .rooms(query.track.as_deref(), limit, offset)
        .await?;
    let (rooms, newly_lost) = judge_rooms(rows, &shards);
    if !newly_lost.is_empty() {
        tracing::warn!(rooms = ?newly_lost, "rooms lost: their shard stopped beating");
        state.metrics.lost_rooms.inc_by(newly_lost.len() as u64);
        // Reporting still succeeds if recording fails; the next listing retries.
        if let Err(e) = state
            .store
            .mark_lost(&newly_lost, roomshard_protocol::now_ms())
            .await
        {
            AppError::from(e).record(&state.metrics);
        }
    }
    Ok(RoomsResponse {
        shards,
        rooms,
        truncated: next.is_some(),
        next_cursor: next.map(|n| n.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(i: u32, healthy: bool, draining: bool) -> ShardState {
        ShardState::test(i, 2).healthy(healthy).draining(draining)
    }

    fn row(room: &str, shard: u32, lost: bool) -> RoomRow {
        RoomRow {
            room: room.into(),
            shard,
            track: "t".into(),
            capacity: 8,
            players: 1,
            reserved: 0,
            lost,
        }
    }

    #[test]
    fn rooms_of_dead_or_unknown_shards_are_lost() {
        let shards = [shard(0, true, true), shard(1, false, false)];
        let (views, newly) = judge_rooms(
            vec![
                row("a", 0, false),
                row("b", 1, false),
                row("c", 1, true),
                row("d", 9, false),
            ],
            &shards,
        );
        let lost: Vec<bool> = views.iter().map(|v| v.lost).collect();
        assert_eq!(lost, vec![false, true, true, true]);
        assert_eq!(newly, vec!["b".to_owned(), "d".to_owned()]);
    }
}
