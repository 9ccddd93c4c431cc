//! GET /rooms: shards and rooms as the registry sees them, with lost rooms flagged, their
//! metadata, and only the rooms whose metadata matches the query's filters. Private rooms
//! are never listed.

use crate::error::AppError;
use crate::metadata::{self, Metadata};
use crate::placement::ShardState;
use crate::state::AppState;
use crate::store::RoomRow;
use serde::{Deserialize, Serialize};

/// Most rooms one page returns (`limit` may ask for fewer).
pub const MAX_LISTED_ROOMS: usize = 5_000;
/// Rooms per page when `limit` is not given.
pub const DEFAULT_LISTED_ROOMS: usize = 1_000;

/// The query of GET /rooms: its own parameters, and every other one a metadata filter.
#[derive(Debug, Clone, Default)]
pub struct RoomsQuery {
    pub track: Option<String>,
    /// Rooms per page, 1 to [`MAX_LISTED_ROOMS`].
    pub limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// `key=value` pairs every listed room's metadata must hold.
    pub filters: Vec<(String, String)>,
}

impl RoomsQuery {
    /// Reads the query's parameters, each at most once.
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self, AppError> {
        let bad = |m: String| AppError::BadRequest(m);
        let mut q = RoomsQuery::default();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "track" => &mut q.track,
                "cursor" => &mut q.cursor,
                "limit" => {
                    if q.limit.is_some() {
                        return Err(bad("limit is given twice".into()));
                    }
                    let n = v
                        .parse::<usize>()
                        .map_err(|_| bad(format!("limit must be 1 to {MAX_LISTED_ROOMS}")))?;
                    q.limit = Some(n);
                    continue;
                }
                _ => {
                    q.filters.push((k, v));
                    continue;
                }
            };
            if slot.replace(v).is_some() {
                return Err(bad(format!("{k} is given twice")));
            }
        }
        metadata::validate_filters(&q.filters).map_err(bad)?;
        Ok(q)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomView {
    pub room: String,
    pub track: String,
    pub shard: u32,
    pub players: u32,
    pub reserved: u32,
    pub capacity: u32,
    /// The room's shard stopped beating while the room lived.
    pub lost: bool,
    /// What the reservation that created the room said about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
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
/// shards are alive. Keeps the rooms whose metadata holds every filter (with none, every
/// room). Returns the views and the rooms newly found lost.
pub fn judge_rooms(
    rows: Vec<RoomRow>,
    shards: &[ShardState],
    filters: &[(String, String)],
) -> (Vec<RoomView>, Vec<String>) {
    let mut newly_lost = Vec::new();
    let views = rows
        .into_iter()
        .filter_map(|r| {
            let metadata = Metadata::decode(&r.metadata);
            let kept = filters.is_empty() || metadata.as_ref().is_some_and(|m| m.matches(filters));
            kept.then_some((r, metadata))
        })
        .map(|(r, metadata)| {
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
                metadata: metadata.as_ref().map(Metadata::to_json),
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
    let (rooms, newly_lost) = judge_rooms(rows, &shards, &query.filters);
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

/// The answer of `GET /rooms/{room}`: which shard holds the room and whether it is lost.
/// Private rooms answer too (their name is what reaches them); nothing else is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomOwner {
    pub room: String,
    pub shard: u32,
    /// Recorded lost, or its shard is not healthy now (see [`judge_rooms`]).
    pub lost: bool,
}

/// `GET /rooms/{room}`: a dropped player's question of whether its room outlived the
/// connection (`docs/CLIENT.md`); `room_not_found` once the room is closed.
pub async fn owner(state: &AppState, room: &str) -> Result<RoomOwner, AppError> {
    roomshard_protocol::validate_room_id(room).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (found, view) = tokio::try_join!(
        async { state.store.room_owner(room).await.map_err(AppError::from) },
        state.shards.recent(),
    )?;
    let (shard, recorded) = found.ok_or_else(|| AppError::RoomNotFound(room.to_owned()))?;
    let alive = view.states.iter().any(|s| s.shard == shard && s.healthy);
    Ok(RoomOwner {
        room: room.to_owned(),
        shard,
        lost: recorded || !alive,
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
            metadata: String::new(),
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
            &[],
        );
        let lost: Vec<bool> = views.iter().map(|v| v.lost).collect();
        assert_eq!(lost, vec![false, true, true, true]);
        assert_eq!(newly, vec!["b".to_owned(), "d".to_owned()]);
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn filters_keep_the_rooms_whose_metadata_holds_them() {
        let shards = [shard(0, true, false)];
        let with = |room: &str, meta: &str| RoomRow {
            metadata: meta.into(),
            ..row(room, 0, false)
        };
        let rows = || {
            vec![
                with("ctf", r#"{"map":"dust","mode":"ctf"}"#),
                with("dm", r#"{"mode":"dm"}"#),
                with("plain", ""),
            ]
        };
        let names = |v: Vec<RoomView>| v.into_iter().map(|r| r.room).collect::<Vec<_>>();
        let (all, _) = judge_rooms(rows(), &shards, &[]);
        assert_eq!(
            all[0].metadata,
            Some(serde_json::json!({"map": "dust", "mode": "ctf"}))
        );
        assert_eq!(all[2].metadata, None);
        assert_eq!(names(all), ["ctf", "dm", "plain"]);
        let (ctf, _) = judge_rooms(rows(), &shards, &pairs(&[("mode", "ctf")]));
        assert_eq!(names(ctf), ["ctf"]);
        let (none, _) = judge_rooms(rows(), &shards, &pairs(&[("mode", "ctf"), ("map", "x")]));
        assert!(none.is_empty());
    }

    #[test]
    fn the_query_takes_its_own_parameters_once_and_the_rest_as_filters() {
        let q = RoomsQuery::parse(pairs(&[("track", "t"), ("limit", "5"), ("mode", "ctf")]))
            .expect("valid");
        assert_eq!((q.track.as_deref(), q.limit), (Some("t"), Some(5)));
        assert_eq!(q.filters, pairs(&[("mode", "ctf")]));
        for bad in [
            pairs(&[("limit", "x")]),
            pairs(&[("limit", "1"), ("limit", "2")]),
            pairs(&[("track", "a"), ("track", "b")]),
            pairs(&[("mode", "a"), ("mode", "b")]),
            pairs(&[("bad key", "a")]),
        ] {
            let err = RoomsQuery::parse(bad.clone()).expect_err("refused");
            assert_eq!(err.code(), "bad_request", "{bad:?}");
        }
    }
}
