//! Idempotency keys: what one stands for, and the calls that change it (idem.lua).
//!
//! A reservation is several scripts in turn, so the key records the plan before the seat
//! is granted: a retry that finds a plan whose maker died carries it out again with the
//! same nonce, and every step of a plan is idempotent, so a plan is carried out at most
//! once however many times it is tried.

use super::{IDEM, RedisError, Store};
use fred::bytes_utils::Str;
use fred::types::{Key, Value};

/// The room a reservation goes to, as its idempotency key records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A seat in a room that exists.
    Existing { room: String },
    /// A new room, opened on `shard` of `track` with `seats` seats.
    New {
        room: String,
        shard: u32,
        track: String,
        seats: u32,
    },
}

impl Plan {
    pub fn room(&self) -> &str {
        match self {
            Plan::Existing { room } | Plan::New { room, .. } => room,
        }
    }

    /// Room ids and tracks hold no spaces (they are validated), so words suffice.
    pub fn encode(&self) -> String {
        match self {
            Plan::Existing { room } => format!("old {room}"),
            Plan::New {
                room,
                shard,
                track,
                seats,
            } => format!("new {room} {shard} {track} {seats}"),
        }
    }

    fn decode(words: &[&str]) -> Option<Self> {
        match words {
            ["old", room] => Some(Plan::Existing {
                room: (*room).to_owned(),
            }),
            ["new", room, shard, track, seats] => Some(Plan::New {
                room: (*room).to_owned(),
                shard: shard.parse().ok()?,
                track: (*track).to_owned(),
                seats: seats.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// What an idempotency key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    Free,
    /// A reservation is being made under `nonce`; `plan` once its room is chosen.
    Working {
        nonce: String,
        plan: Option<Plan>,
    },
    /// The reservation `nonce` was granted as `plan`.
    Granted {
        nonce: String,
        plan: Plan,
    },
    /// Something this release does not read; it is taken over.
    Unknown,
}

impl KeyState {
    pub fn parse(value: &str) -> Self {
        let words: Vec<&str> = value.split(' ').collect();
        match words.as_slice() {
            [""] => KeyState::Free,
            ["w", nonce] => KeyState::Working {
                nonce: (*nonce).to_owned(),
                plan: None,
            },
            ["w", nonce, plan @ ..] => match Plan::decode(plan) {
                Some(plan) => KeyState::Working {
                    nonce: (*nonce).to_owned(),
                    plan: Some(plan),
                },
                None => KeyState::Unknown,
            },
            ["g", nonce, plan @ ..] => match Plan::decode(plan) {
                Some(plan) => KeyState::Granted {
                    nonce: (*nonce).to_owned(),
                    plan,
                },
                None => KeyState::Unknown,
            },
            _ => KeyState::Unknown,
        }
    }
}

/// The key's answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Claim {
    Mine,
    /// Someone else's; what it holds.
    Taken(String),
}

fn text(s: &str) -> Value {
    Value::String(Str::from(s))
}

impl Store {
    /// Takes `key` for `nonce` if it still holds `seen` ("" for nothing).
    pub(super) async fn claim_key(
        &self,
        key: &str,
        nonce: &str,
        seen: &str,
        lease_ms: u64,
    ) -> Result<Claim, RedisError> {
        let reply = self.run_idem(key, ["claim", nonce, seen], lease_ms).await?;
        match reply.as_slice() {
            [mine] if mine == "mine" => Ok(Claim::Mine),
            [taken, value] if taken == "taken" => Ok(Claim::Taken(value.clone())),
            other => Err(RedisError::Reply {
                op: "idem",
                detail: format!("a claim reply of {} items", other.len()),
            }),
        }
    }

    /// Records `plan` (op `plan`, for `ms` more) or its grant (op `grant`, for the
    /// reservation's lifetime), or lets the key go (op `drop`); false when the key is no
    /// longer the holder's.
    pub(super) async fn mark_key(
        &self,
        key: &str,
        op: &'static str,
        nonce: &str,
        plan: &str,
        ms: u64,
    ) -> Result<bool, RedisError> {
        let reply = self.run_idem(key, [op, nonce, plan], ms).await?;
        Ok(reply.first().is_some_and(|r| r == "mine"))
    }

    async fn run_idem(
        &self,
        key: &str,
        words: [&str; 3],
        ms: u64,
    ) -> Result<Vec<String>, RedisError> {
        let name = self.keys.idempotency(key);
        let call = || {
            let mut args: Vec<Value> = words.iter().map(|w| text(w)).collect();
            args.push(Value::Integer(i64::try_from(ms).unwrap_or(i64::MAX)));
            (vec![Key::from(name.as_str())], args)
        };
        self.call("idem", IDEM.run(&self.client, call)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_states_read_back_what_was_written() {
        let new = Plan::New {
            room: "r-1".into(),
            shard: 3,
            track: "ctf".into(),
            seats: 8,
        };
        let old = Plan::Existing { room: "r-2".into() };
        assert_eq!(KeyState::parse(""), KeyState::Free);
        assert_eq!(
            KeyState::parse("w n1"),
            KeyState::Working {
                nonce: "n1".into(),
                plan: None
            }
        );
        assert_eq!(
            KeyState::parse(&format!("w n1 {}", new.encode())),
            KeyState::Working {
                nonce: "n1".into(),
                plan: Some(new.clone())
            }
        );
        assert_eq!(
            KeyState::parse(&format!("g n2 {}", old.encode())),
            KeyState::Granted {
                nonce: "n2".into(),
                plan: old
            }
        );
        // An earlier release stored a bare nonce; it is taken over, never trusted.
        for odd in ["abc", "g n2", "w n1 new r 1 t", "w n1 new r x t 8", "x y z"] {
            assert_eq!(KeyState::parse(odd), KeyState::Unknown, "{odd}");
        }
        assert_eq!(new.room(), "r-1");
    }
}
