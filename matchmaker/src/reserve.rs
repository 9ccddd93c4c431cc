//! One reservation: validate the request, plan it with the kept shard view, let the store
//! pick and grant a seat (the room's own slot grants it atomically), then sign the token.

use crate::auth::Caller;
use crate::error::AppError;
use crate::metadata::{self, Metadata};
use crate::placement;
use crate::shard_view::ShardView;
use crate::state::AppState;
use crate::store::{Granted, NewRoom, Refusal, ReserveRequest};
use roomshard_protocol::token::{Claims, TOKEN_VERSION, new_nonce};
use roomshard_protocol::{validate_room_id, validate_track};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The track used when a request names none.
pub const DEFAULT_TRACK: &str = "default";

/// Longest player id and idempotency key accepted.
pub const MAX_PLAYER_CHARS: usize = 64;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// The body of POST /reserve. Unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReserveBody {
    #[serde(default)]
    pub track: Option<String>,
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub player: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// What a room this reservation creates is about ([`Metadata`]).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// A request whose every field was checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReserve {
    pub track: String,
    pub room: Option<String>,
    pub player: String,
    pub idempotency_key: Option<String>,
    /// The caller's scope of idempotency keys ([`Caller::scope`]).
    pub scope: String,
    /// `player` is a verified JWT's `sub`, so the token is bound to it.
    pub bound: bool,
    /// The metadata of the room to fill or create; only with no `room`.
    pub metadata: Option<Metadata>,
}

/// The caps the reserve script enforces (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Unexpired reservations one player may hold.
    pub player: u32,
    /// Rooms one track may have.
    pub track_rooms: u32,
}

/// The 200 answer, exactly as the contract (docs/openapi.yaml) names its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveResponse {
    pub room: String,
    pub track: String,
    pub shard: u32,
    pub worker: String,
    pub url: String,
    pub token: String,
    pub expires_at: u64,
}

fn bad(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// Checks every field; names and keys end up inside Redis keys, so nothing unchecked does.
/// A bearer token's caller reserves for its `sub`: a body naming another player is refused.
pub fn validate(body: ReserveBody, caller: &Caller) -> Result<ValidReserve, AppError> {
    let track = body.track.unwrap_or_else(|| DEFAULT_TRACK.to_owned());
    validate_track(&track).map_err(bad)?;
    if let Some(room) = &body.room {
        validate_room_id(room).map_err(bad)?;
    }
    let metadata = match body.metadata {
        Some(_) if body.room.is_some() => {
            return Err(bad(
                "metadata describes the room a reservation creates; a reservation naming a room takes it as it is",
            ));
        }
        Some(v) => Some(Metadata::parse(v).map_err(bad)?),
        None => None,
    };
    let player = match caller {
        Caller::Player(sub) => {
            if body.player.as_ref().is_some_and(|p| p != sub) {
                return Err(AppError::PlayerMismatch);
            }
            if sub.is_empty() {
                return Err(AppError::Unauthorized("the bearer token's sub is empty"));
            }
            sub.clone()
        }
        Caller::Anonymous | Caller::Backend(_) => body.player.unwrap_or_default(),
    };
    let player_chars = player.chars().count();
    if player_chars > MAX_PLAYER_CHARS {
        return Err(bad(format_args!(
            "player is {player_chars} characters long; at most {MAX_PLAYER_CHARS} are allowed"
        )));
    }
    if player.chars().any(char::is_control) {
        return Err(bad("player must not contain control characters"));
    }
    if let Some(key) = &body.idempotency_key {
        let len = key.chars().count();
        if len == 0 || len > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(bad(format_args!(
                "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters long"
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "idempotencyKey may only contain printable ASCII without spaces",
            ));
        }
    }
    Ok(ValidReserve {
        track,
        room: body.room,
        player,
        idempotency_key: body.idempotency_key,
        scope: caller.scope(),
        bound: matches!(caller, Caller::Player(_)),
        metadata,
    })
}

/// What the scripts need to know about the shards, decided from the shard view at `now`:
/// the eligible shards, and a freshly minted room id for each shard a new room may go to.
pub fn plan(
    req: &ValidReserve,
    view: &ShardView,
    now: Instant,
    nonce: String,
    ttl_ms: u64,
    caps: Caps,
) -> ReserveRequest {
    let new_rooms = if req.room.is_some() {
        Vec::new()
    } else {
        let mut rng = rand::rng();
        view.new_room_shards
            .iter()
            .filter_map(|&i| view.states.get(i))
            .filter_map(|s| {
                placement::mint_room_id(s.shard, s.total, &mut rng).map(|room| NewRoom {
                    shard: s.shard,
                    room,
                    rooms_per_shard: s.capacity.rooms_per_shard,
                    seats: s.capacity.players_per_room,
                })
            })
            .collect()
    };
    ReserveRequest {
        track: req.track.clone(),
        room: req.room.clone(),
        player: req.player.clone(),
        idempotency_key: req
            .idempotency_key
            .as_ref()
            .map(|k| format!("{}:{k}", req.scope)),
        nonce,
        ttl_ms,
        eligible: view.eligible_at(now),
        new_rooms,
        player_cap: caps.player,
        track_room_cap: caps.track_rooms,
        index: metadata::placement_index(&req.track, req.metadata.as_ref()),
        metadata: req.metadata.as_ref().map(Metadata::encode),
        private: req.metadata.as_ref().is_some_and(Metadata::is_private),
    }
}

/// The claims a granted seat is signed with; a replay re-signs the same claims and so
/// gets the same token (HMAC is deterministic).
pub fn claims(set: &str, g: &Granted, bound: bool) -> Claims {
    Claims {
        v: TOKEN_VERSION,
        set: set.to_owned(),
        room: g.room.clone(),
        shard: g.shard,
        player: g.player.clone(),
        bound,
        exp: g.expires_at,
        nonce: g.nonce.clone(),
    }
}

/// A granted reservation and whether it was found again for its idempotency key.
pub struct Reserved {
    pub response: ReserveResponse,
    pub reused: bool,
}

pub async fn reserve(state: &AppState, req: ValidReserve) -> Result<Reserved, AppError> {
    let asked = Instant::now();
    let view = state.shards.recent().await?;
    let mut outcome = place(state, &req, &view).await?;
    // The kept view may predate a shard that started, came back or stopped draining since:
    // a refusal stands only on a view read after the request came in.
    if matches!(
        outcome,
        Err(Refusal::NoCapacity | Refusal::ShardUnavailable)
    ) && view.fetched_at < asked
        && let Some(fresh) = fresher_view(state, asked).await
        && fresh.plans_differently(&view)
    {
        outcome = place(state, &req, &fresh).await?;
    }
    match outcome {
        Ok(g) => {
            let token = state
                .token_key
                .sign(&claims(state.store.keys().set(), &g, req.bound));
            Ok(Reserved {
                reused: g.reused,
                response: ReserveResponse {
                    room: g.room,
                    track: g.track,
                    shard: g.shard,
                    worker: g.worker,
                    url: g.url,
                    token,
                    expires_at: g.expires_at,
                },
            })
        }
        Err(Refusal::RoomNotFound) => Err(AppError::RoomNotFound(req.room.unwrap_or_default())),
        Err(Refusal::RoomFull) => Err(AppError::RoomFull(req.room.unwrap_or_default())),
        Err(Refusal::ShardUnavailable | Refusal::NoCapacity) => Err(AppError::NoCapacity),
        Err(Refusal::TrackRoomLimit) => {
            Err(AppError::TrackRoomLimit(req.track, state.caps.track_rooms))
        }
        Err(Refusal::PlayerLimit { oldest_expires_at }) => {
            let wait_ms = oldest_expires_at.saturating_sub(roomshard_protocol::now_ms());
            Err(AppError::ReservationLimit(
                state.caps.player,
                wait_ms.div_ceil(1_000).max(1),
            ))
        }
    }
}

/// One run of the reserve script, planned with `view`.
async fn place(
    state: &AppState,
    req: &ValidReserve,
    view: &ShardView,
) -> Result<Result<Granted, Refusal>, AppError> {
    let plan = plan(
        req,
        view,
        Instant::now(),
        new_nonce(),
        state.reservation_ttl_ms,
        state.caps,
    );
    Ok(state.store.reserve(&plan).await?)
}

/// A view read after `asked`, for a second look at a refusal. When that read fails the
/// refusal stands, and the failure is still recorded.
async fn fresher_view(state: &AppState, asked: Instant) -> Option<Arc<ShardView>> {
    state
        .shards
        .read_since(asked)
        .await
        .inspect_err(|e| e.record(&state.metrics))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::ShardState;

    fn body(json: &str) -> Result<ValidReserve, AppError> {
        let b: ReserveBody = serde_json::from_str(json).map_err(bad)?;
        validate(b, &Caller::Anonymous)
    }

    #[test]
    fn defaults_and_valid_fields() {
        let v = body("{}").expect("valid");
        assert_eq!(v.track, "default");
        assert_eq!(v.room, None);
        let v = body(r#"{"track":"日本語","room":"r-1","player":"ann","idempotencyKey":"k:1"}"#)
            .expect("valid");
        assert_eq!(v.track, "日本語");
        assert_eq!(v.idempotency_key.as_deref(), Some("k:1"));
    }

    #[test]
    fn bad_fields_are_bad_requests() {
        let long_room = format!(r#"{{"room":"{}"}}"#, "r".repeat(10_000));
        let long_player = format!(r#"{{"player":"{}"}}"#, "p".repeat(65));
        let long_key = format!(r#"{{"idempotencyKey":"{}"}}"#, "k".repeat(129));
        for json in [
            r#"{"track":"a:b"}"#,
            r#"{"track":""}"#,
            r#"{"track":"😀"}"#,
            r#"{"room":"a b"}"#,
            r#"{"room":""}"#,
            long_room.as_str(),
            long_player.as_str(),
            r#"{"player":"a\nb"}"#,
            long_key.as_str(),
            r#"{"idempotencyKey":""}"#,
            r#"{"idempotencyKey":"a b"}"#,
            r#"{"track":1}"#,
            r#"{"extra":1}"#,
            r#"{"metadata":"ctf"}"#,
            r#"{"metadata":{"mode":{"x":1}}}"#,
            r#"{"metadata":{"private":"yes"}}"#,
            r#"{"room":"r1","metadata":{"mode":"ctf"}}"#,
        ] {
            let err = body(json).expect_err(json);
            assert_eq!(err.code(), "bad_request", "{json}");
        }
    }

    #[test]
    fn metadata_goes_to_the_script_in_its_stored_form() {
        let req = body(r#"{"metadata":{"mode":"ctf","private":true,"map":"dust"}}"#).expect("ok");
        let view = ShardView::new(vec![state(0, true, 0)], Instant::now());
        let now = Instant::now();
        let p = plan(&req, &view, now, "n".into(), 1000, Caps::default());
        assert_eq!(
            p.metadata.as_deref(),
            Some(r#"{"map":"dust","mode":"ctf","private":true}"#)
        );
        assert!(p.private);
        assert_eq!(p.index, "default~private");
        let plain = plan(
            &body("{}").expect("ok"),
            &view,
            now,
            "n".into(),
            1000,
            Caps::default(),
        );
        assert_eq!((plain.metadata, plain.private), (None, false));
        assert_eq!(plain.index, "default");
    }

    #[test]
    fn a_token_caller_reserves_for_its_subject_only() {
        let ann = Caller::Player("ann".into());
        let b = |json: &str| serde_json::from_str::<ReserveBody>(json).expect("body");
        let v = validate(b(r#"{"idempotencyKey":"k"}"#), &ann).expect("valid");
        assert_eq!(v.player, "ann");
        assert_ne!(v.scope, Caller::Anonymous.scope());
        assert!(validate(b(r#"{"player":"ann"}"#), &ann).is_ok());
        let err = validate(b(r#"{"player":"bob"}"#), &ann).expect_err("another player");
        assert_eq!(err.code(), "player_mismatch");
        let backend = Caller::Backend("k1".into());
        let v = validate(b(r#"{"player":"bob"}"#), &backend).expect("valid");
        assert_eq!(v.player, "bob");
    }

    fn state(shard: u32, eligible: bool, rooms: u32) -> ShardState {
        ShardState::test(shard, 4)
            .healthy(eligible)
            .load(rooms, 0)
            .seats(8)
    }

    #[test]
    fn plan_passes_eligible_shards_and_minted_rooms() {
        let req = body("{}").expect("valid");
        let shards = vec![
            state(0, true, 5),
            state(1, false, 0),
            state(2, true, 1),
            state(3, true, 10),
        ];
        let view = ShardView::new(shards, Instant::now());
        let p = plan(
            &req,
            &view,
            Instant::now(),
            "n".into(),
            1000,
            Caps::default(),
        );
        assert_eq!(p.eligible.shards(), vec![0, 2, 3]);
        assert_eq!(
            p.new_rooms.iter().map(|n| n.shard).collect::<Vec<_>>(),
            vec![2, 0]
        );
        for n in &p.new_rooms {
            assert_eq!(roomshard_protocol::shard_for_room(&n.room, 4), n.shard);
            assert_eq!(n.seats, 8);
        }
        let named = body(r#"{"room":"r1"}"#).expect("valid");
        assert!(
            plan(
                &named,
                &view,
                Instant::now(),
                "n".into(),
                1000,
                Caps::default()
            )
            .new_rooms
            .is_empty()
        );
    }
}
