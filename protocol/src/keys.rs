//! Redis key names for one RoomShardSet.
//!
//! Every key of set `S` in namespace `N` starts with `roomshard:{N/S` (without a namespace,
//! a process started outside Kubernetes, `roomshard:{S`). The braces are a Redis Cluster
//! hash tag, and each group of keys that one script touches has a tag of its own, so a set
//! spreads over many slots while every script still runs in one:
//!
//! - `roomshard:{N/S}:…` shard liveness and the set-wide registries (heartbeats, the
//!   draining set, every room of the set, the rooms of each shard);
//! - `roomshard:{N/S:track:T}:…` the placement index of track `T`;
//! - `roomshard:{N/S:room:R}:…` the seats and reservations of room `R`;
//! - `roomshard:{N/S:player:P}:…` and `roomshard:{N/S:idem:K}` one player's reservations
//!   and one idempotency key.
//!
//! `/` never occurs in a namespace or a set name, and neither `:` nor `}` in either, so two
//! scopes never share a tag or a prefix. Room ids and track names are validated before they
//! end up inside a key, so no id can forge another key. Player ids and idempotency keys
//! may hold any printable character; a `}` in one only ends its tag early, and the key as a
//! whole still names that one player or key.

/// Why a name cannot be used in a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; at most {max} are allowed")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} may only contain {allowed}")]
    BadCharacter {
        what: &'static str,
        allowed: &'static str,
    },
}

/// Longest room id, track name or set name accepted.
pub const MAX_NAME_CHARS: usize = 64;

fn check_name(
    what: &'static str,
    value: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty { what });
    }
    let len = value.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            what,
            len,
            max: MAX_NAME_CHARS,
        });
    }
    if !value.chars().all(ok) {
        return Err(NameError::BadCharacter { what, allowed });
    }
    Ok(())
}

/// A room id: ASCII letters, digits, `-`, `_` and `.`.
pub fn validate_room_id(room: &str) -> Result<(), NameError> {
    check_name(
        "room",
        room,
        "ASCII letters, digits, '-', '_' and '.'",
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
    )
}

/// A track (game mode): letters and digits of any script, `-`, `_` and `.`.
pub fn validate_track(track: &str) -> Result<(), NameError> {
    check_name("track", track, "letters, digits, '-', '_' and '.'", |c| {
        c.is_alphanumeric() || matches!(c, '-' | '_' | '.')
    })
}

/// A set name, as Kubernetes names objects: lower-case letters, digits, `-` and `.`.
pub fn validate_set_name(set: &str) -> Result<(), NameError> {
    check_name(
        "set",
        set,
        "lower-case ASCII letters, digits, '-' and '.'",
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'),
    )
}

/// A Kubernetes namespace, as it may appear in a key: lower-case letters, digits and `-`.
pub fn validate_namespace(namespace: &str) -> Result<(), NameError> {
    check_name(
        "namespace",
        namespace,
        "lower-case ASCII letters, digits and '-'",
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    )
}

/// The key builder of one set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `N/S`, or `S` without a namespace: what every hash tag of the set starts with.
    scope: String,
    prefix: String,
    set: String,
    namespace: Option<String>,
}

/// The keys of one track's placement index, all in the track's slot, in the order the
/// scripts that keep the index take them as KEYS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackIndexKeys {
    /// Sorted set: room -> free seats as last known. "Fill the fullest room that still has
    /// a seat" is the lowest score of at least 1.
    pub free: String,
    /// Hash: room -> the shard that owns it (never changes while the room lives).
    pub shard: String,
    /// Hash: room -> the version of the room's seats that the score reflects.
    pub version: String,
    /// Sorted set: room -> when its score must be read again from the room (ms): the
    /// first expiry of a reservation it counts, or a placement that may not have finished.
    pub due: String,
    /// Set of every room of the track.
    pub rooms: String,
    /// Sorted set: nonce -> until when (ms) that request is opening a room of the track.
    /// The requests that find no seat meanwhile wait for those rooms instead of each
    /// opening one.
    pub openings: String,
    /// Sorted set: nonce -> until when (ms) that request waits for a seat in a room being
    /// opened, unless it looks again: the demand that decides whether one more room opens.
    pub waiting: String,
}

impl TrackIndexKeys {
    pub fn all(&self) -> [&str; 5] {
        [
            &self.free,
            &self.shard,
            &self.version,
            &self.due,
            &self.rooms,
        ]
    }
}

impl Keys {
    /// Keys of `set` with no namespace: `roomshard:{S}:`.
    pub fn new(set: &str) -> Result<Self, NameError> {
        Self::scoped(None, set)
    }

    /// Keys of `set` in `namespace`: `roomshard:{N/S}:`, or `roomshard:{S}:` for `None`.
    pub fn scoped(namespace: Option<&str>, set: &str) -> Result<Self, NameError> {
        validate_set_name(set)?;
        let scope = match namespace {
            Some(ns) => {
                validate_namespace(ns)?;
                format!("{ns}/{set}")
            }
            None => set.to_owned(),
        };
        Ok(Self {
            prefix: format!("roomshard:{{{scope}}}:"),
            scope,
            set: set.to_owned(),
            namespace: namespace.map(str::to_owned),
        })
    }

    /// The namespace the keys are scoped by, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn set(&self) -> &str {
        &self.set
    }

    /// `roomshard:{S}:` — the keys of shard liveness and the set-wide registries start
    /// with this; the other groups start with `roomshard:{S:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `key` is one of this set's keys, of any group.
    pub fn owns(&self, key: &str) -> bool {
        key.strip_prefix("roomshard:{")
            .and_then(|k| k.strip_prefix(self.scope.as_str()))
            .is_some_and(|rest| rest.starts_with('}') || rest.starts_with(':'))
    }

    /// A `SCAN MATCH` pattern for every key of the set (and nothing of another set).
    pub fn scan_pattern(&self) -> String {
        format!("roomshard:{{{}[}}:]*", self.scope)
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{}", self.prefix, rest)
    }

    /// `roomshard:{S:group:name}`: the tag of one group of keys.
    fn tagged(&self, group: &str, name: &str) -> String {
        format!("roomshard:{{{}:{group}:{name}}}", self.scope)
    }

    /// Shard heartbeat record (JSON string, expires after three intervals).
    pub fn shard(&self, index: u32) -> String {
        self.key(format_args!("shard:{index}"))
    }

    /// Sorted set of shard indices that ever registered, scored by last heartbeat (ms).
    pub fn shards(&self) -> String {
        self.key(format_args!("shards"))
    }

    /// Set of shard indices the operator is draining.
    pub fn draining(&self) -> String {
        self.key(format_args!("draining"))
    }

    /// Set of shard indices the operator is replacing (a rollout): on its way out, such a
    /// shard's worker hands its rooms to the next process of the shard instead of draining.
    pub fn replacing(&self) -> String {
        self.key(format_args!("replacing"))
    }

    /// A shard's rooms as its last process handed them over (JSON, expires with the
    /// resume window); the next process of the shard takes it at start.
    pub fn handoff(&self, index: u32) -> String {
        self.key(format_args!("handoff:{index}"))
    }

    /// Sorted set of every room of the set, scored by creation time (ms).
    pub fn rooms(&self) -> String {
        self.key(format_args!("all-rooms"))
    }

    /// Set of the rooms a shard owns.
    pub fn shard_rooms(&self, index: u32) -> String {
        self.key(format_args!("owned:{index}"))
    }

    /// Sorted set of rooms whose shard stopped beating, scored by when that was seen (ms).
    pub fn lost_rooms(&self) -> String {
        self.key(format_args!("lost-rooms"))
    }

    /// Channel prefix of the Socket.IO Redis adapter, so sets never hear each other.
    pub fn adapter_prefix(&self) -> String {
        self.key(format_args!("sio"))
    }

    /// Sharded pub/sub channel of a room's sync between the workers hosting it, in the
    /// partition whose tag number is `tag` ([`crate::SyncChannels`] chooses it).
    pub fn sync_channel(&self, tag: u32, room: &str) -> String {
        format!("{}:room:{room}", self.tagged("sync", &tag.to_string()))
    }

    /// The tag number and room of a [`Keys::sync_channel`] of this set.
    pub fn parse_sync_channel<'a>(&self, channel: &'a str) -> Option<(u32, &'a str)> {
        let rest = channel
            .strip_prefix("roomshard:{")?
            .strip_prefix(self.scope.as_str())?
            .strip_prefix(":sync:")?;
        let (tag, room) = rest.split_once("}:room:")?;
        if room.is_empty() || !tag.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((tag.parse().ok()?, room))
    }

    /// A room's seats (hash: schema, shard, track, capacity, players, created_at, version,
    /// draining), in the room's own slot.
    pub fn room(&self, room: &str) -> String {
        format!("{}:seats", self.tagged("room", room))
    }

    /// Sorted set of a room's live reservation nonces, scored by expiry (ms).
    pub fn room_reservations(&self, room: &str) -> String {
        format!("{}:resv", self.tagged("room", room))
    }

    /// One reservation of `room` (JSON string, expires with the reservation).
    pub fn reservation(&self, room: &str, nonce: &str) -> String {
        format!("{}:resv:{nonce}", self.tagged("room", room))
    }

    /// The placement index of one track.
    pub fn track_index(&self, track: &str) -> TrackIndexKeys {
        let tag = self.tagged("track", track);
        TrackIndexKeys {
            free: format!("{tag}:free"),
            shard: format!("{tag}:shard"),
            version: format!("{tag}:version"),
            due: format!("{tag}:due"),
            rooms: format!("{tag}:rooms"),
            openings: format!("{tag}:openings"),
            waiting: format!("{tag}:waiting"),
        }
    }

    /// Set of the metadata placement indices (`{track}~{digest}`) that have held public
    /// rooms of `track`, in the track's slot: how a listing of the track finds them.
    pub fn track_metadata_indices(&self, track: &str) -> String {
        format!("{}:metadata-indices", self.tagged("track", track))
    }

    /// Set of the rooms of one track.
    pub fn track_rooms(&self, track: &str) -> String {
        self.track_index(track).rooms
    }

    /// Sorted set of a player's unexpired reservation nonces, scored by expiry (ms).
    pub fn player_reservations(&self, player: &str) -> String {
        format!("{}:resv", self.tagged("player", player))
    }

    /// What an idempotency key (scoped to its caller, `{scope}:{key}`) stands for: the
    /// reservation it produced, or one being made.
    pub fn idempotency(&self, idempotency_key: &str) -> String {
        self.tagged("idem", idempotency_key)
    }
}

/// The hash tag Redis Cluster places `key` by: what lies between the first `{` and the
/// first `}` after it, when that is not empty; the whole key otherwise.
pub fn hash_tag(key: &str) -> &str {
    key.find('{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.find('}')
                .filter(|&close| close > 0)
                .map(|close| &rest[..close])
        })
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_of_one_name_in_two_namespaces_share_no_key() {
        let a = Keys::scoped(Some("team-a"), "game").expect("valid");
        let b = Keys::scoped(Some("team-b"), "game").expect("valid");
        let bare = Keys::new("game").expect("valid");
        let longer = Keys::scoped(Some("team-a"), "game2").expect("valid");
        assert_eq!(a.prefix(), "roomshard:{team-a/game}:");
        assert_eq!(bare.prefix(), "roomshard:{game}:");
        assert_eq!(Keys::scoped(None, "game").expect("valid"), bare);
        assert_eq!(a.namespace(), Some("team-a"));
        assert_eq!(bare.namespace(), None);
        for (x, y) in [(&a, &b), (&a, &bare), (&b, &bare), (&a, &longer)] {
            for key in every_key(x) {
                assert!(x.owns(&key), "{key}");
                assert!(!y.owns(&key), "{y:?} owns {key}");
                assert_ne!(hash_tag(&key), hash_tag(&y.shard(0)), "{key}");
            }
            assert_ne!(x.adapter_prefix(), y.adapter_prefix());
        }
        assert_eq!(hash_tag(&a.shard(3)), "team-a/game");
        assert_eq!(hash_tag(&a.room("r")), "team-a/game:room:r");
        assert_eq!(a.scan_pattern(), "roomshard:{team-a/game[}:]*");
        // A namespace cannot smuggle in another scope.
        for bad in ["", "a/b", "a}b", "A", "a.b", "a:b"] {
            assert!(Keys::scoped(Some(bad), "game").is_err(), "{bad:?}");
        }
    }

    fn every_key(k: &Keys) -> Vec<String> {
        let mut keys = vec![
            k.shard(3),
            k.shards(),
            k.draining(),
            k.rooms(),
            k.shard_rooms(0),
            k.lost_rooms(),
            k.adapter_prefix(),
            k.sync_channel(7, "r1"),
            k.room("r1"),
            k.room_reservations("r1"),
            k.reservation("r1", "n"),
            k.track_rooms("ctf"),
            k.track_metadata_indices("ctf"),
            k.player_reservations("ann"),
            k.idempotency("anon:i"),
        ];
        keys.extend(k.track_index("ctf").all().map(str::to_owned));
        keys
    }

    #[test]
    fn each_group_of_keys_has_its_own_hash_tag() {
        let k = Keys::new("game-eu").expect("valid set");
        for key in [
            k.shard(3),
            k.shards(),
            k.draining(),
            k.rooms(),
            k.shard_rooms(0),
            k.lost_rooms(),
        ] {
            assert_eq!(hash_tag(&key), "game-eu", "{key}");
        }
        for key in [
            k.room("r1"),
            k.room_reservations("r1"),
            k.reservation("r1", "n"),
        ] {
            assert_eq!(hash_tag(&key), "game-eu:room:r1", "{key}");
        }
        let index = k.track_index("ctf");
        for key in index.all() {
            assert_eq!(hash_tag(key), "game-eu:track:ctf", "{key}");
        }
        assert_eq!(index.rooms, k.track_rooms("ctf"));
        assert_eq!(
            hash_tag(&k.track_metadata_indices("ctf")),
            "game-eu:track:ctf"
        );
        assert_eq!(hash_tag(&k.player_reservations("a}b")), "game-eu:player:a");
        assert_ne!(k.player_reservations("a}b"), k.player_reservations("a"));
        assert_eq!(k.shard(3), "roomshard:{game-eu}:shard:3");
        assert_eq!(k.room("r1"), "roomshard:{game-eu:room:r1}:seats");
        assert_eq!(
            k.sync_channel(7, "r1"),
            "roomshard:{game-eu:sync:7}:room:r1"
        );
        assert_eq!(
            k.parse_sync_channel("roomshard:{game-eu:sync:7}:room:r1"),
            Some((7, "r1"))
        );
        for bad in [
            "roomshard:{game-eu:sync:+7}:room:r1",
            "roomshard:{game-eu:sync:7}:room:",
            "roomshard:{game-eu2:sync:7}:room:r1",
            "roomshard:{game-eu}:room-sync:r1",
        ] {
            assert_eq!(k.parse_sync_channel(bad), None, "{bad}");
        }
        for key in every_key(&k) {
            assert!(k.owns(&key), "{key}");
        }
        assert!(!k.owns("roomshard:{game-eu2}:shards"));
        assert!(!k.owns("other:{game-eu}:shards"));
        assert_eq!(hash_tag("plain"), "plain");
        assert_eq!(hash_tag("a{}b"), "a{}b");
    }

    #[test]
    fn set_names_cannot_break_the_hash_tag() {
        assert!(Keys::new("a}b").is_err());
        assert!(Keys::new("").is_err());
        assert!(Keys::new("UPPER").is_err());
        assert!(Keys::new(&"a".repeat(65)).is_err());
    }

    #[test]
    fn room_and_track_validation() {
        assert!(validate_room_id("r-1_a.b").is_ok());
        assert!(validate_room_id("a:b").is_err());
        assert!(validate_room_id("a b").is_err());
        assert!(validate_room_id(&"r".repeat(10_000)).is_err());
        assert!(validate_track("ctf").is_ok());
        assert!(validate_track("日本語").is_ok());
        assert!(validate_track("a:b").is_err());
        assert!(validate_track("a{b}").is_err());
        assert!(validate_track("").is_err());
    }
}
