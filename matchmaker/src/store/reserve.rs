//! One reservation, as a few scripts in turn, each in one slot (docs/REDIS.md, "Reserve"):
//!
//! 1. the idempotency key, when there is one: a reservation it already stands for is
//!    answered again, a plan whose maker died is carried out again;
//! 2. the player's cap;
//! 3. place.lua in the track's index picks the fullest room with a seat and holds it;
//! 4. grant.lua in the room grants the seat, or refuses it and the refusal is posted back
//!    to the index (the room is the authority, the index only a guide);
//! 5. with no room to fill, claim.lua opens a slot for a new room on a shard that may take
//!    one, grant.lua opens the room with the seat, and the room joins the track's index
//!    (which enforces the track's cap of rooms).
//!
//! The shard facts a script cannot read in its own slot (is the shard alive, may it take
//! seats) come from the caller's shard view; the worker refuses joins it cannot seat.

use super::calls::{Asking, GrantRefusal, GrantReply, Opening, PlaceTimes, Seat};
use super::idem::Claim;
use super::reservation::Outcome;
use super::{
    Granted, KeyState, NewRoom, Plan, RedisError, Refusal, ReserveRequest, ShardArgs, Store,
};
use roomshard_protocol::records::Reservation;
use roomshard_protocol::seats::IndexOutcome;
use std::time::{Duration, Instant};

/// Rooms tried from the index before a new room is opened instead.
const PLACE_ATTEMPTS: usize = 4;
/// How soon a request that waits for a room other requests are opening looks again: at
/// first, then twice as long each time up to the most, so a crowd of waiters does not
/// crowd out the openings it waits for.
const OPENING_POLL: Duration = Duration::from_millis(5);
const OPENING_POLL_MOST: Duration = Duration::from_millis(50);
/// How often a request waits to see what another request with its idempotency key made.
const KEY_POLL: Duration = Duration::from_millis(10);

impl Store {
    /// How long an idempotency key stays with a request between two of its steps.
    fn lease_ms(&self) -> u64 {
        let lease = self.deadline.saturating_mul(3).max(Duration::from_secs(1));
        u64::try_from(lease.as_millis()).unwrap_or(u64::MAX)
    }

    pub async fn reserve(&self, req: &ReserveRequest) -> Outcome {
        let Some(key) = req.idempotency_key.as_deref() else {
            return self.reserve_fresh(req, None).await;
        };
        let mut tries = 0;
        loop {
            match self.take_key(key, req).await? {
                Taken::Answered(g) => return Ok(Ok(g)),
                Taken::Mine => break,
                Taken::Resume { nonce, plan, value } => {
                    if let Ok(mut g) = self
                        .carry_out(req, &nonce, &plan, Some(key), false, None)
                        .await?
                    {
                        g.reused = true;
                        return Ok(Ok(g));
                    }
                    // Nothing was granted under that plan, nor can be: the key may make a
                    // new reservation, and one request takes it to do so.
                    match self
                        .claim_key(key, &req.nonce, &value, self.lease_ms())
                        .await?
                    {
                        Claim::Mine => break,
                        Claim::Taken(_) if tries < 2 => tries += 1,
                        Claim::Taken(_) => return Ok(Err(Refusal::NoCapacity)),
                    }
                }
            }
        }
        let out = self.reserve_fresh(req, Some(key)).await;
        if !matches!(out, Ok(Ok(_))) {
            // Best effort: the lease ends it anyway.
            let _ = self.mark_key(key, "drop", &req.nonce, "", 0).await;
        }
        out
    }

    /// Waits until `key` is this request's, or answers what another request made of it.
    async fn take_key(&self, key: &str, req: &ReserveRequest) -> Result<Taken, RedisError> {
        let lease = self.lease_ms();
        let give_up = Instant::now() + Duration::from_millis(lease) + self.deadline;
        let mut seen = String::new();
        loop {
            let value = match self.claim_key(key, &req.nonce, &seen, lease).await? {
                Claim::Mine => return Ok(Taken::Mine),
                Claim::Taken(value) => value,
            };
            match KeyState::parse(&value) {
                KeyState::Granted { nonce, plan } => {
                    match self.held(plan.room(), &nonce).await? {
                        Some(g) => return Ok(Taken::Answered(g)),
                        // Used or expired: a new reservation may replace it.
                        None => seen = value,
                    }
                }
                KeyState::Working {
                    nonce,
                    plan: Some(plan),
                } => return Ok(Taken::Resume { nonce, plan, value }),
                KeyState::Working { plan: None, .. } => {
                    // Its maker is choosing a room (or died doing so, and the lease ends).
                    seen = String::new();
                    if Instant::now() > give_up {
                        return Err(RedisError::Timeout {
                            op: "idem",
                            deadline: Duration::from_millis(lease),
                        });
                    }
                    tokio::time::sleep(KEY_POLL).await;
                }
                KeyState::Unknown => seen = value,
                KeyState::Free => seen = String::new(),
            }
        }
    }

    /// The live reservation `nonce` of `room`, if it is still held.
    async fn held(&self, room: &str, nonce: &str) -> Result<Option<Granted>, RedisError> {
        use fred::interfaces::KeysInterface;
        let raw: Option<String> = self
            .call("held", self.client.get(self.keys.reservation(room, nonce)))
            .await?;
        Ok(raw
            .and_then(|r| Reservation::decode(r.as_bytes()).ok())
            .map(Granted::from_record))
    }

    /// A reservation made from nothing: the player's cap, then a named room or a placed
    /// seat. `key` (this request's) records the plan before each grant.
    async fn reserve_fresh(&self, req: &ReserveRequest, key: Option<&str>) -> Outcome {
        let capped = req.player_cap > 0 && !req.player.is_empty();
        if capped {
            let hold = self
                .hold_for_player(&req.player, &req.nonce, req.ttl_ms, req.player_cap)
                .await?;
            if let Err(oldest_expires_at) = hold {
                return Ok(Err(Refusal::PlayerLimit { oldest_expires_at }));
            }
        }
        let out = match &req.room {
            Some(room) => {
                let plan = Plan::Existing { room: room.clone() };
                self.carry_out(req, &req.nonce, &plan, key, false, None)
                    .await
            }
            None => self.place_seat(req, key).await,
        };
        if capped && !matches!(out, Ok(Ok(_))) {
            let _ = self.release_for_player(&req.player, &req.nonce).await;
        }
        out
    }

    /// Fills the fullest room of the request's placement index with a seat, or opens a
    /// room. A private room is only ever opened: no placement fills one.
    async fn place_seat(&self, req: &ReserveRequest, key: Option<&str>) -> Outcome {
        if req.private {
            return self.open_room(req, &req.eligible, key).await;
        }
        let mut opening = false;
        let out = self.fill_or_open(req, key, &mut opening).await;
        if opening {
            // However it went, the room is in the index or will not be: the track's next
            // opening is free (an opening left behind also ends on its own after a lease).
            if let Err(e) = self.opened(&req.index, &req.nonce).await {
                tracing::debug!(error = %e, "ending a room opening failed");
            }
        }
        out
    }

    /// [`Self::place_seat`]; `opening` is set once this request holds the track's opening.
    async fn fill_or_open(
        &self,
        req: &ReserveRequest,
        key: Option<&str>,
        opening: &mut bool,
    ) -> Outcome {
        let mut shards = req.eligible.clone();
        let mut refreshed = false;
        let times = PlaceTimes {
            ttl_ms: req.ttl_ms,
            lease_ms: self.lease_ms(),
        };
        // Requests that find no seat at once open rooms between them as their number asks,
        // not one each: the others look again until those rooms are in the index, for at
        // most a lease.
        let seats = req
            .new_rooms
            .iter()
            .filter(|c| shards.contains(c.shard))
            .map(|c| c.seats)
            .max()
            .unwrap_or(1);
        let waiting_ms =
            u64::try_from((self.deadline + OPENING_POLL_MOST).as_millis()).unwrap_or(u64::MAX);
        let waiting_since = Instant::now();
        let mut poll = OPENING_POLL;
        let mut attempts = 0;
        while attempts < PLACE_ATTEMPTS {
            let waited_out = waiting_since.elapsed() >= Duration::from_millis(times.lease_ms);
            let asking = Asking {
                nonce: &req.nonce,
                opening_ms: if waited_out { 0 } else { times.lease_ms },
                seats,
                waiting_ms,
            };
            let placed = self
                .place(&req.index, &shards, times, req.track_room_cap, asking)
                .await?;
            if placed.wait {
                self.refresh_later(&req.index, placed.due);
                tokio::time::sleep(poll).await;
                poll = (poll * 2).min(OPENING_POLL_MOST);
                continue;
            }
            attempts += 1;
            let Some((room, shard)) = placed.pick else {
                *opening |= asking.opening_ms > 0;
                if !placed.due.is_empty() && !refreshed {
                    // A reservation counted there may have expired: look before opening
                    // a room.
                    refreshed = true;
                    self.refresh(&req.index, &placed.due).await?;
                    continue;
                }
                if placed.limit {
                    return Ok(Err(Refusal::TrackRoomLimit));
                }
                break;
            };
            self.refresh_later(&req.index, placed.due);
            let plan = Plan::Existing { room };
            match self
                .carry_out(req, &req.nonce, &plan, key, false, Some(shard))
                .await?
            {
                Ok(g) => return Ok(Ok(g)),
                Err(Refusal::ShardUnavailable) => shards = shards.filtered(|s| s != shard),
                Err(_) => {}
            }
        }
        self.open_room(req, &shards, key).await
    }

    /// Opens a new room for the seat on the least-loaded shard that may take one.
    async fn open_room(
        &self,
        req: &ReserveRequest,
        shards: &ShardArgs,
        key: Option<&str>,
    ) -> Outcome {
        let candidates: Vec<NewRoom> = req
            .new_rooms
            .iter()
            .filter(|c| shards.contains(c.shard))
            .cloned()
            .collect();
        let Some((shard, room)) = self.claim(&candidates).await? else {
            return Ok(Err(Refusal::NoCapacity));
        };
        let seats = candidates
            .iter()
            .find(|c| c.shard == shard)
            .map_or(0, |c| c.seats);
        let plan = Plan::New {
            room,
            shard,
            track: req.track.clone(),
            seats,
        };
        self.carry_out(req, &req.nonce, &plan, key, true, None)
            .await
    }

    /// Grants the seat `plan` names under `nonce`; every step is idempotent, so a plan
    /// found in an idempotency key is carried out again safely. With `key`, the plan is
    /// recorded there first and the grant after. `claimed`: a new room's slot is already
    /// claimed (by this request, just now). `shard`: the room's shard, when the placement
    /// said; the grant is then told of that shard only, else of every eligible one.
    async fn carry_out(
        &self,
        req: &ReserveRequest,
        nonce: &str,
        plan: &Plan,
        key: Option<&str>,
        claimed: bool,
        shard: Option<u32>,
    ) -> Outcome {
        if let Some(key) = key
            && !self
                .mark_key(key, "plan", nonce, &plan.encode(), self.lease_ms())
                .await?
        {
            // The lease ran out and a retry took the key over; it answers the caller.
            return Ok(Err(Refusal::NoCapacity));
        }
        let seat = Seat {
            room: plan.room(),
            nonce,
            ttl_ms: req.ttl_ms,
            player: &req.player,
        };
        let opening = match plan {
            Plan::Existing { .. } => None,
            Plan::New {
                room,
                shard,
                track,
                seats,
            } => {
                // A plan carried out again claims its room's slot again: kept if its
                // maker claimed it, else only within this request's view of the shard.
                if !claimed {
                    let limit = req
                        .new_rooms
                        .iter()
                        .find(|c| c.shard == *shard)
                        .map_or(0, |c| c.rooms_per_shard);
                    let again = NewRoom {
                        shard: *shard,
                        room: room.clone(),
                        rooms_per_shard: limit,
                        seats: *seats,
                    };
                    if self.claim(&[again]).await?.is_none() {
                        return Ok(Err(Refusal::NoCapacity));
                    }
                }
                // The request's metadata goes with its own track.
                let (index, metadata) = if *track == req.track {
                    (req.index.as_str(), req.metadata.as_deref().unwrap_or(""))
                } else {
                    (track.as_str(), "")
                };
                Some(Opening {
                    track,
                    shard: *shard,
                    seats: *seats,
                    index,
                    metadata,
                    private: req.private && !metadata.is_empty(),
                })
            }
        };
        let shard = shard.or(match plan {
            Plan::New { shard, .. } => Some(*shard),
            Plan::Existing { .. } => None,
        });
        let grant_shards = shard.map_or_else(|| req.eligible.clone(), |s| req.eligible.only(s));
        let granted = self.grant(seat, opening, &grant_shards).await?;
        let (index, seats) = match &granted {
            GrantReply::Granted { index, seats, .. } | GrantReply::Refused { index, seats, .. } => {
                (index.clone(), *seats)
            }
            GrantReply::NotFound => {
                if req.room.is_none() {
                    let _ = self.forget(&req.index, plan.room()).await;
                }
                return Ok(Err(Refusal::RoomNotFound));
            }
        };
        // A placed seat was held in the index already; anything else reports back.
        let placed_and_granted = matches!(plan, Plan::Existing { .. })
            && req.room.is_none()
            && matches!(granted, GrantReply::Granted { .. });
        if !placed_and_granted {
            let cap = if matches!(plan, Plan::New { .. }) {
                req.track_room_cap
            } else {
                0
            };
            match self.post(&index, plan.room(), &seats, cap).await {
                Ok(IndexOutcome::Limit) => {
                    if let Plan::New { room, shard, .. } = plan {
                        self.abandon(*shard, room, nonce).await?;
                    }
                    return Ok(Err(Refusal::TrackRoomLimit));
                }
                // Listed with its track from now on; a private room never is.
                Ok(_) if matches!(plan, Plan::New { .. }) && req.metadata.is_some() => {
                    if !req.private
                        && let Err(e) = self.note_metadata_index(&req.track, &index).await
                    {
                        tracing::debug!(error = %e, "recording a metadata index failed");
                    }
                }
                Ok(_) => {}
                // The index lags until the room is read again; the seat stands.
                Err(e) => tracing::debug!(error = %e, "posting to the placement index failed"),
            }
        }
        if let (Some(key), GrantReply::Granted { .. }) = (key, &granted) {
            // Lost only to a retry that took the key over after the lease; it finds this
            // reservation through the plan it carries out again.
            self.mark_key(key, "grant", nonce, &plan.encode(), req.ttl_ms)
                .await?;
        }
        Ok(match granted {
            GrantReply::Granted {
                track,
                shard,
                expires_at,
                worker,
                url,
                ..
            } => Ok(Granted {
                room: plan.room().to_owned(),
                track,
                shard,
                expires_at,
                nonce: nonce.to_owned(),
                reused: false,
                worker,
                url,
                player: req.player.clone(),
            }),
            GrantReply::Refused { why, .. } => Err(match why {
                GrantRefusal::RoomFull => Refusal::RoomFull,
                GrantRefusal::ShardUnavailable | GrantRefusal::Draining => {
                    Refusal::ShardUnavailable
                }
            }),
            GrantReply::NotFound => Err(Refusal::RoomNotFound),
        })
    }

    /// Reads `rooms` again in the background; a failure leaves them due for the next
    /// placement.
    fn refresh_later(&self, track: &str, rooms: Vec<String>) {
        if rooms.is_empty() {
            return;
        }
        let (store, track) = (self.clone(), track.to_owned());
        tokio::spawn(async move {
            if let Err(e) = store.refresh(&track, &rooms).await {
                tracing::debug!(error = %e, "reading rooms again for the placement index failed");
            }
        });
    }
}

/// What a request found in its idempotency key.
enum Taken {
    /// The key is this request's.
    Mine,
    /// Another request's reservation, still held.
    Answered(Granted),
    /// Another request's plan, to carry out again; `value` is what the key held.
    Resume {
        nonce: String,
        plan: Plan,
        value: String,
    },
}
