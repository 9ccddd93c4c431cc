//! Redis key names for one RoomShardSet.
//!
//! Every key of set `S` in namespace `N` starts with `roomshard:{N/S}:`; without a
//! namespace (a process started outside Kubernetes, ROOMSHARD_NAMESPACE unset) it starts
//! with `roomshard:{S}:`. The braces are a Redis Cluster hash tag, so all of one set's
//! keys live in one slot and Lua scripts may touch any of them; `/` never occurs in a
//! namespace or a set name, so two scopes never share a prefix. Names that end up inside
//! a key are validated first, so no id can forge another key.

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
    prefix: String,
    set: String,
    namespace: Option<String>,
}

impl Keys {
    /// Keys of `set` with no namespace: `roomshard:{S}:`.
    pub fn new(set: &str) -> Result<Self, NameError> {
        Self::scoped(None, set)
    }

    /// Keys of `set` in `namespace`: `roomshard:{N/S}:`, or `roomshard:{S}:` for `None`.
    pub fn scoped(namespace: Option<&str>, set: &str) -> Result<Self, NameError> {
        validate_set_name(set)?;
        let prefix = match namespace {
            Some(ns) => {
                validate_namespace(ns)?;
                format!("roomshard:{{{ns}/{set}}}:")
            }
            None => format!("roomshard:{{{set}}}:"),
        };
        Ok(Self {
            prefix,
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

    /// `roomshard:{S}:` — every key of the set starts with this.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}{}", self.prefix, rest)
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

    /// Room record (hash: shard, track, capacity, players, created_at, schema).
    pub fn room(&self, room: &str) -> String {
        self.key(format_args!("room:{room}"))
    }

    /// Sorted set of a room's live reservation nonces, scored by expiry (ms).
    pub fn room_reservations(&self, room: &str) -> String {
        self.key(format_args!("room:{room}:resv"))
    }

    /// Sorted set of every room of the set, scored by creation time (ms).
    pub fn rooms(&self) -> String {
        self.key(format_args!("rooms"))
    }

    /// Set of the rooms of one track.
    pub fn track_rooms(&self, track: &str) -> String {
        self.key(format_args!("track:{track}"))
    }

    /// Set of the rooms a shard owns.
    pub fn shard_rooms(&self, index: u32) -> String {
        self.key(format_args!("shard:{index}:rooms"))
    }

    /// One reservation (JSON string, expires with the reservation).
    pub fn reservation(&self, nonce: &str) -> String {
        self.key(format_args!("resv:{nonce}"))
    }

    /// The reservation an idempotency key produced (JSON string, expires with it).
    pub fn idempotency(&self, idempotency_key: &str) -> String {
        self.key(format_args!("idem:{idempotency_key}"))
    }

    /// Channel prefix of the Socket.IO Redis adapter, so sets never hear each other.
    pub fn adapter_prefix(&self) -> String {
        self.key(format_args!("sio"))
    }

    /// Pub/sub channel of a room's per-tick entity changes between the workers hosting it.
    pub fn room_sync(&self, room: &str) -> String {
        self.key(format_args!("room-sync:{room}"))
    }

    /// Sorted set of rooms whose shard stopped beating, scored by when that was seen (ms).
    pub fn lost_rooms(&self) -> String {
        self.key(format_args!("lost-rooms"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_of_one_name_in_two_namespaces_share_no_key() {
        let a = Keys::scoped(Some("team-a"), "game").expect("valid");
        let b = Keys::scoped(Some("team-b"), "game").expect("valid");
        let bare = Keys::new("game").expect("valid");
        assert_eq!(a.prefix(), "roomshard:{team-a/game}:");
        assert_eq!(bare.prefix(), "roomshard:{game}:");
        assert_eq!(Keys::scoped(None, "game").expect("valid"), bare);
        assert_eq!(a.namespace(), Some("team-a"));
        assert_eq!(bare.namespace(), None);
        for (x, y) in [(&a, &b), (&a, &bare), (&b, &bare)] {
            assert!(!x.prefix().starts_with(y.prefix()), "{x:?} {y:?}");
            assert!(!y.prefix().starts_with(x.prefix()), "{x:?} {y:?}");
            assert_ne!(x.shard(0), y.shard(0));
            assert_ne!(x.room("r"), y.room("r"));
            assert_ne!(x.adapter_prefix(), y.adapter_prefix());
        }
        // One hash tag per scope: everything of a set stays in one slot.
        let tag = |k: &str| k[k.find('{').unwrap_or(0)..=k.find('}').unwrap_or(0)].to_owned();
        assert_eq!(tag(&a.shard(3)), "{team-a/game}");
        assert_eq!(tag(&a.reservation("n")), tag(&a.lost_rooms()));
        // A namespace cannot smuggle in another scope.
        for bad in ["", "a/b", "a}b", "A", "a.b"] {
            assert!(Keys::scoped(Some(bad), "game").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_share_one_hash_tag() {
        let k = Keys::new("game-eu").expect("valid set");
        for key in [
            k.shard(3),
            k.shards(),
            k.draining(),
            k.room("r1"),
            k.room_reservations("r1"),
            k.rooms(),
            k.track_rooms("ctf"),
            k.shard_rooms(0),
            k.reservation("n"),
            k.idempotency("i"),
            k.adapter_prefix(),
            k.lost_rooms(),
            k.room_sync("r1"),
        ] {
            assert!(key.starts_with("roomshard:{game-eu}:"), "{key}");
        }
        assert_eq!(k.shard(3), "roomshard:{game-eu}:shard:3");
        assert_eq!(k.room("r1"), "roomshard:{game-eu}:room:r1");
        assert_eq!(k.room_sync("r1"), "roomshard:{game-eu}:room-sync:r1");
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
