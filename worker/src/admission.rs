//! Admission: may this join take a seat, and which one? A join that brings a reservation
//! token from the matchmaker takes the seat reserved for it, once the token is shown to be
//! for this set, this shard and this room; a join without one takes any free seat, unless
//! this worker requires tokens. Plain logic, no I/O: the seat itself is taken in
//! [`crate::seats`].

use crate::config::Config;
use crate::error::Rejection;
use roomshard_protocol::events::codes;
use roomshard_protocol::token::TokenKey;

/// What a join is checked against: this worker's place and its token policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The key reservation tokens are signed with; without one no token can be checked.
    pub key: Option<&'a TokenKey>,
    /// Whether a join without a (checkable) token is refused.
    pub require_token: bool,
    /// The RoomShardSet this worker belongs to.
    pub set: &'a str,
    /// This worker's shard index.
    pub shard: u32,
}

impl<'a> Policy<'a> {
    pub fn of(cfg: &'a Config) -> Self {
        Self {
            key: cfg.token_key.as_ref(),
            require_token: cfg.require_token,
            set: cfg.keys.set(),
            shard: cfg.shard.index(),
        }
    }
}

/// How a join may take its seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatRequest {
    /// The seat the matchmaker reserved under this nonce (single use). `bound_to`: the
    /// player whose bearer JWT the join must present first (the token is bound to it).
    Reserved {
        nonce: String,
        bound_to: Option<String>,
    },
    /// Any free seat, creating the room if it does not exist (runs without a matchmaker).
    Open,
}

/// Decides how a join of `room`, showing `token` if any, may take a seat at `now_ms`.
pub fn seat_request(
    policy: Policy<'_>,
    room: &str,
    token: Option<&str>,
    now_ms: u64,
) -> Result<SeatRequest, Rejection> {
    match (token, policy.key) {
        (Some(token), Some(key)) => {
            let claims = key
                .verify(token, now_ms)
                .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
            if claims.set != policy.set {
                return Err(Rejection::new(
                    codes::RESERVATION_INVALID,
                    format!("the token is for set {:?}", claims.set),
                ));
            }
            if claims.shard != policy.shard {
                return Err(Rejection::new(
                    codes::WRONG_SHARD,
                    format!(
                        "the token is for shard {}, this is shard {}",
                        claims.shard, policy.shard
                    ),
                ));
            }
            if claims.room != room {
                return Err(Rejection::new(
                    codes::RESERVATION_INVALID,
                    format!("the token is for room {:?}", claims.room),
                ));
            }
            Ok(SeatRequest::Reserved {
                nonce: claims.nonce,
                bound_to: claims.bound.then_some(claims.player),
            })
        }
        _ if policy.require_token => Err(Rejection::new(
            codes::TOKEN_REQUIRED,
            "a reservation token from the matchmaker is required",
        )),
        _ => Ok(SeatRequest::Open),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomshard_protocol::token::{Claims, TOKEN_VERSION};

    const NOW: u64 = 1_000_000;

    fn key() -> TokenKey {
        TokenKey::new("admission-test-secret-0123").expect("key")
    }

    fn policy(key: Option<&TokenKey>, require_token: bool) -> Policy<'_> {
        Policy {
            key,
            require_token,
            set: "arena",
            shard: 2,
        }
    }

    fn token(key: &TokenKey, set: &str, shard: u32, room: &str, exp: u64) -> String {
        key.sign(&Claims {
            v: TOKEN_VERSION,
            set: set.into(),
            room: room.into(),
            shard,
            player: String::new(),
            bound: false,
            exp,
            nonce: "n-1".into(),
        })
    }

    fn refusal(r: Result<SeatRequest, Rejection>) -> &'static str {
        r.expect_err("refused").code
    }

    #[test]
    fn a_valid_token_takes_its_reserved_seat() {
        let k = key();
        let t = token(&k, "arena", 2, "r1", NOW + 1);
        assert_eq!(
            seat_request(policy(Some(&k), true), "r1", Some(&t), NOW),
            Ok(SeatRequest::Reserved {
                nonce: "n-1".into(),
                bound_to: None,
            })
        );
        let bound = k.sign(&Claims {
            v: TOKEN_VERSION,
            set: "arena".into(),
            room: "r1".into(),
            shard: 2,
            player: "ann".into(),
            bound: true,
            exp: NOW + 1,
            nonce: "n-2".into(),
        });
        assert_eq!(
            seat_request(policy(Some(&k), true), "r1", Some(&bound), NOW),
            Ok(SeatRequest::Reserved {
                nonce: "n-2".into(),
                bound_to: Some("ann".into()),
            })
        );
    }

    #[test]
    fn a_token_for_another_place_is_refused() {
        let k = key();
        let p = policy(Some(&k), true);
        let other_set = token(&k, "lobby", 2, "r1", NOW + 1);
        assert_eq!(
            refusal(seat_request(p, "r1", Some(&other_set), NOW)),
            codes::RESERVATION_INVALID
        );
        let other_shard = token(&k, "arena", 3, "r1", NOW + 1);
        assert_eq!(
            refusal(seat_request(p, "r1", Some(&other_shard), NOW)),
            codes::WRONG_SHARD
        );
        let other_room = token(&k, "arena", 2, "r2", NOW + 1);
        assert_eq!(
            refusal(seat_request(p, "r1", Some(&other_room), NOW)),
            codes::RESERVATION_INVALID
        );
    }

    #[test]
    fn a_bad_token_says_why() {
        let k = key();
        let p = policy(Some(&k), false);
        let expired = token(&k, "arena", 2, "r1", NOW);
        assert_eq!(
            refusal(seat_request(p, "r1", Some(&expired), NOW)),
            "token_expired"
        );
        let forged = token(&TokenKey::random(), "arena", 2, "r1", NOW + 1);
        assert_eq!(
            refusal(seat_request(p, "r1", Some(&forged), NOW)),
            "token_invalid"
        );
        assert_eq!(
            refusal(seat_request(p, "r1", Some("garbage"), NOW)),
            "token_malformed"
        );
    }

    #[test]
    fn without_a_token_the_policy_decides() {
        let k = key();
        assert_eq!(
            refusal(seat_request(policy(Some(&k), true), "r1", None, NOW)),
            codes::TOKEN_REQUIRED
        );
        assert_eq!(
            seat_request(policy(Some(&k), false), "r1", None, NOW),
            Ok(SeatRequest::Open)
        );
        // A token nobody can check counts as none.
        assert_eq!(
            seat_request(policy(None, false), "r1", Some("anything"), NOW),
            Ok(SeatRequest::Open)
        );
        assert_eq!(
            refusal(seat_request(
                policy(None, true),
                "r1",
                Some("anything"),
                NOW
            )),
            codes::TOKEN_REQUIRED
        );
    }
}
