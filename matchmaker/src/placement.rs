//! Pure placement decisions: no I/O, no clock, no randomness of its own.
//!
//! - [`assess`] turns what Redis holds about each shard into a [`ShardState`]: healthy
//!   while its heartbeat is present and fresh, draining when it says so or the draining set
//!   names it, eligible for new seats only when healthy and not draining.
//! - [`new_room_candidates`] ranks eligible shards with room to spare, least loaded first.
//! - [`mint_room_id`] draws ids until one hashes (with [`shard_for_room`]) to the chosen
//!   shard, so the room's recorded shard and its hashed shard agree.
//! - [`public_url`] is the address a client is sent to.

use rand::{Rng, RngExt};
use roomshard_protocol::records::{Capacity, ShardHeartbeat};
use roomshard_protocol::{MISSED_HEARTBEATS_UNHEALTHY, UrlTemplate, shard_for_room};
use serde::Serialize;

/// What Redis holds about one registered shard.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardReport {
    pub index: u32,
    /// The decoded heartbeat, `None` when the key expired or could not be decoded.
    pub heartbeat: Option<ShardHeartbeat>,
    /// Last heartbeat time from the `shards` index (ms), 0 if unknown.
    pub last_seen_ms: u64,
    /// How long the heartbeat record had left when it was read (ms); `None` without one.
    pub heartbeat_ttl_ms: Option<u64>,
    /// Rooms registered to the shard (`SCARD shard:{i}:rooms`).
    pub rooms: u32,
    /// Whether the `draining` set names the shard.
    pub in_draining_set: bool,
}

/// Fallbacks for what a heartbeat may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub heartbeat_interval_ms: u64,
    pub capacity: Capacity,
}

/// One shard as placement sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardState {
    pub shard: u32,
    #[serde(skip)]
    pub total: u32,
    pub worker: String,
    #[serde(skip)]
    pub url: String,
    pub healthy: bool,
    pub draining: bool,
    pub rooms: u32,
    pub players: u32,
    pub capacity: Capacity,
    pub tracks: Vec<String>,
    /// When the shard last beat (ms since the epoch), 0 if never seen.
    pub last_heartbeat_ms: u64,
    /// How long its heartbeat record had left when read (ms): past that, unless a newer
    /// read says otherwise, the shard is gone.
    #[serde(skip)]
    pub heartbeat_ttl_ms: Option<u64>,
}

impl ShardState {
    /// Takes new rooms and seats.
    pub fn eligible(&self) -> bool {
        self.healthy && !self.draining
    }

    /// Has room for one more room.
    pub fn has_room_slot(&self) -> bool {
        self.rooms < self.capacity.rooms_per_shard
    }
}

/// Shards for tests, built up from one that takes seats.
#[cfg(test)]
impl ShardState {
    /// Shard `index` of `total`, healthy, named `game-{index}` at `ws://h/{index}`, with
    /// no rooms yet of the 10 it may hold, 4 seats each.
    pub(crate) fn test(index: u32, total: u32) -> Self {
        ShardState {
            shard: index,
            total,
            worker: format!("game-{index}"),
            url: format!("ws://h/{index}"),
            healthy: true,
            draining: false,
            rooms: 0,
            players: 0,
            capacity: Capacity {
                rooms_per_shard: 10,
                players_per_room: 4,
            },
            tracks: vec![],
            last_heartbeat_ms: 0,
            heartbeat_ttl_ms: Some(60_000),
        }
    }

    pub(crate) fn healthy(self, healthy: bool) -> Self {
        Self { healthy, ..self }
    }

    pub(crate) fn draining(self, draining: bool) -> Self {
        Self { draining, ..self }
    }

    pub(crate) fn load(self, rooms: u32, players: u32) -> Self {
        Self {
            rooms,
            players,
            ..self
        }
    }

    pub(crate) fn seats(mut self, players_per_room: u32) -> Self {
        self.capacity.players_per_room = players_per_room;
        self
    }
}

/// The pod name a shard is known by, or a stable stand-in.
pub fn worker_name(index: u32, pod: &str) -> String {
    if pod.is_empty() {
        format!("shard-{index}")
    } else {
        pod.to_owned()
    }
}

/// Whether a heartbeat sent at `sent_at` is still fresh at `now`.
pub fn is_fresh(hb: &ShardHeartbeat, now_ms: u64, defaults: &Defaults) -> bool {
    let interval = if hb.interval_ms > 0 {
        hb.interval_ms
    } else {
        defaults.heartbeat_interval_ms
    };
    // A heartbeat without a send time is judged by its key's TTL alone.
    hb.sent_at == 0
        || now_ms.saturating_sub(hb.sent_at) <= interval.saturating_mul(MISSED_HEARTBEATS_UNHEALTHY)
}

fn effective_capacity(c: Capacity, defaults: &Defaults) -> Capacity {
    Capacity {
        rooms_per_shard: if c.rooms_per_shard == 0 {
            defaults.capacity.rooms_per_shard
        } else {
            c.rooms_per_shard
        },
        players_per_room: if c.players_per_room == 0 {
            defaults.capacity.players_per_room
        } else {
            c.players_per_room
        },
    }
}

/// Judges every reported shard at `now_ms`; the result is sorted by index.
pub fn assess(
    reports: &[ShardReport],
    now_ms: u64,
    defaults: &Defaults,
    url_for: impl Fn(u32, &ShardHeartbeat) -> String,
) -> Vec<ShardState> {
    let mut out: Vec<ShardState> = reports
        .iter()
        .map(|r| match &r.heartbeat {
            Some(hb) if hb.index == r.index => ShardState {
                shard: r.index,
                total: hb.total,
                worker: worker_name(r.index, &hb.pod),
                url: url_for(r.index, hb),
                healthy: is_fresh(hb, now_ms, defaults),
                draining: hb.draining || r.in_draining_set,
                rooms: r.rooms,
                players: hb.players,
                capacity: effective_capacity(hb.capacity, defaults),
                tracks: hb.tracks.clone(),
                last_heartbeat_ms: hb.sent_at.max(r.last_seen_ms),
                heartbeat_ttl_ms: r.heartbeat_ttl_ms,
            },
            _ => ShardState {
                shard: r.index,
                total: 0,
                worker: worker_name(r.index, ""),
                url: String::new(),
                healthy: false,
                draining: r.in_draining_set,
                rooms: r.rooms,
                players: 0,
                capacity: defaults.capacity,
                tracks: Vec::new(),
                last_heartbeat_ms: r.last_seen_ms,
                heartbeat_ttl_ms: None,
            },
        })
        .collect();
    out.sort_by_key(|s| s.shard);
    out
}

/// How many shards the reserve script may choose among for a new room.
pub const NEW_ROOM_CANDIDATES: usize = 4;

/// Eligible shards that can take one more room, least loaded first (rooms, then players,
/// then index), at most `max`.
pub fn new_room_candidates(shards: &[ShardState], max: usize) -> Vec<&ShardState> {
    let mut c: Vec<&ShardState> = shards
        .iter()
        .filter(|s| s.eligible() && s.has_room_slot() && s.total > 0)
        .collect();
    c.sort_by_key(|s| (s.rooms, s.players, s.shard));
    c.truncate(max);
    c
}

/// Upper bound on draws; with at most 1024 shards the chance of reaching it is nil.
const MAX_MINT_DRAWS: u32 = 1_000_000;

/// A fresh room id that [`shard_for_room`] maps to `index` of `total`, or `None` if the
/// pair is impossible.
pub fn mint_room_id(index: u32, total: u32, rng: &mut impl Rng) -> Option<String> {
    if total == 0 || index >= total {
        return None;
    }
    (0..MAX_MINT_DRAWS)
        .map(|_| format!("r-{:016x}", rng.random::<u64>()))
        .find(|id| shard_for_room(id, total) == index)
}

/// The URL a client uses for shard `index`: the heartbeat's own when it has one, the
/// template otherwise (`{shard}`, `{pod}`, `{port}` = `base_port + index`).
pub fn public_url(
    template: &UrlTemplate,
    heartbeat_url: &str,
    index: u32,
    pod: &str,
    base_port: u16,
) -> String {
    if !heartbeat_url.is_empty() {
        return heartbeat_url.to_owned();
    }
    let port = u32::from(base_port).saturating_add(index);
    template.render(index, pod, port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const DEFAULTS: Defaults = Defaults {
        heartbeat_interval_ms: 1_000,
        capacity: Capacity {
            rooms_per_shard: 10,
            players_per_room: 4,
        },
    };

    fn hb(index: u32, total: u32, sent_at: u64) -> ShardHeartbeat {
        ShardHeartbeat {
            schema: 1,
            index,
            total,
            pod: format!("game-{index}"),
            url: String::new(),
            version: String::new(),
            started_at: 0,
            seq: 1,
            sent_at,
            interval_ms: 0,
            rooms: 0,
            players: 0,
            capacity: Capacity::default(),
            tracks: vec![],
            draining: false,
            handoff: false,
        }
    }

    fn report(
        index: u32,
        heartbeat: Option<ShardHeartbeat>,
        rooms: u32,
        draining: bool,
    ) -> ShardReport {
        ShardReport {
            index,
            heartbeat,
            last_seen_ms: 0,
            heartbeat_ttl_ms: Some(1_000),
            rooms,
            in_draining_set: draining,
        }
    }

    fn url(_: u32, _: &ShardHeartbeat) -> String {
        String::new()
    }

    #[test]
    fn freshness_is_three_intervals() {
        let h = hb(0, 1, 10_000);
        assert!(is_fresh(&h, 13_000, &DEFAULTS));
        assert!(!is_fresh(&h, 13_001, &DEFAULTS));
        let mut own = h.clone();
        own.interval_ms = 2_000;
        assert!(is_fresh(&own, 16_000, &DEFAULTS));
        assert!(is_fresh(&hb(0, 1, 0), u64::MAX, &DEFAULTS));
        // A clock behind the worker's is not staleness.
        assert!(is_fresh(&h, 5_000, &DEFAULTS));
    }

    #[test]
    fn draining_missing_stale_and_mismatched_shards_are_not_eligible() {
        let now = 100_000;
        let mut draining_hb = hb(1, 5, now);
        draining_hb.draining = true;
        let states = assess(
            &[
                report(4, Some(hb(3, 5, now)), 0, false), // record of another shard
                report(0, Some(hb(0, 5, now)), 0, false),
                report(1, Some(draining_hb), 0, false),
                report(2, Some(hb(2, 5, now)), 0, true),
                report(3, Some(hb(3, 5, now - 10_000)), 0, false),
                report(5, None, 2, false),
            ],
            now,
            &DEFAULTS,
            url,
        );
        let eligible: Vec<u32> = states
            .iter()
            .filter(|s| s.eligible())
            .map(|s| s.shard)
            .collect();
        assert_eq!(eligible, vec![0]);
        assert_eq!(
            states.iter().map(|s| s.shard).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5]
        );
        assert!(states[1].healthy && states[1].draining);
        assert!(states[2].healthy && states[2].draining);
        assert!(!states[3].healthy);
        assert!(!states[4].healthy);
        assert!(!states[5].healthy && states[5].rooms == 2);
    }

    #[test]
    fn zero_capacities_fall_back_to_defaults() {
        let mut h = hb(0, 1, 1);
        h.capacity = Capacity {
            rooms_per_shard: 0,
            players_per_room: 8,
        };
        let s = assess(&[report(0, Some(h), 0, false)], 1, &DEFAULTS, url);
        assert_eq!(s[0].capacity.rooms_per_shard, 10);
        assert_eq!(s[0].capacity.players_per_room, 8);
    }

    #[test]
    fn candidates_are_least_loaded_first_and_have_room() {
        let now = 1;
        let mut busy = hb(2, 4, now);
        busy.players = 50;
        let mut quiet = hb(3, 4, now);
        quiet.players = 1;
        let states = assess(
            &[
                report(0, Some(hb(0, 4, now)), 100, false), // full (rooms_per_shard 100)
                report(1, Some(hb(1, 4, now)), 5, false),
                report(2, Some(busy), 3, false),
                report(3, Some(quiet), 3, false),
            ],
            now,
            &DEFAULTS,
            url,
        );
        let order: Vec<u32> = new_room_candidates(&states, 8)
            .iter()
            .map(|s| s.shard)
            .collect();
        assert_eq!(order, vec![3, 2, 1]);
        assert_eq!(new_room_candidates(&states, 1).len(), 1);
    }

    #[test]
    fn minted_ids_hash_to_their_shard() {
        let mut rng = StdRng::seed_from_u64(7);
        for total in [1u32, 2, 4, 7, 64, 1024] {
            for index in [0, total / 2, total - 1] {
                let id = mint_room_id(index, total, &mut rng).expect("mintable");
                assert_eq!(shard_for_room(&id, total), index, "{id}");
                assert!(roomshard_protocol::validate_room_id(&id).is_ok());
            }
        }
        assert_eq!(mint_room_id(3, 3, &mut rng), None);
        assert_eq!(mint_room_id(0, 0, &mut rng), None);
    }

    #[test]
    fn urls_prefer_the_heartbeat() {
        let t = |s: &str| UrlTemplate::parse(s).expect("template");
        assert_eq!(
            public_url(&t("ws://h:{port}"), "ws://own:1", 2, "p", 3000),
            "ws://own:1"
        );
        assert_eq!(
            public_url(&t("ws://127.0.0.1:{port}"), "", 2, "p", 3000),
            "ws://127.0.0.1:3002"
        );
        assert_eq!(
            public_url(
                &t("wss://play.example.com/shard/{shard}"),
                "",
                7,
                "game-7",
                3000
            ),
            "wss://play.example.com/shard/7"
        );
        assert_eq!(
            public_url(&t("wss://{pod}.game"), "", 1, "game-1", 0),
            "wss://game-1.game"
        );
    }
}
