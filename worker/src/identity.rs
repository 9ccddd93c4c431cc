//! The second half of a bound reservation: a token the matchmaker bound to a JWT's `sub` is
//! honoured only for a join that presents a bearer JWT for that same `sub`, checked with
//! the same keys the matchmaker uses. A stolen or shared token is worthless without the
//! player's own JWT, and a refused attempt leaves the reservation untouched for its owner.

use crate::error::Rejection;
use roomshard_protocol::events::codes;
use roomshard_runtime::jwt::JwtVerifier;
use std::sync::atomic::{AtomicBool, Ordering};

static UNVERIFIABLE_SAID: AtomicBool = AtomicBool::new(false);

/// Checks that `identity` proves `bound_to`; nothing to check for an unbound seat.
pub async fn check(
    verifier: Option<&JwtVerifier>,
    bound_to: Option<&str>,
    identity: Option<&str>,
) -> Result<(), Rejection> {
    let Some(player) = bound_to else {
        return Ok(());
    };
    let Some(identity) = identity else {
        return Err(Rejection::new(
            codes::IDENTITY_REQUIRED,
            "this reservation is bound to a player: join with its bearer JWT as identity",
        ));
    };
    let Some(verifier) = verifier else {
        // Said once: every such join is refused the same way, and a log line per join would
        // let any client fill the log.
        if !UNVERIFIABLE_SAID.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a join brought a reservation bound to a player, but this worker has no \
                 AUTH_JWT_HS256_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL to check its identity"
            );
        }
        return Err(Rejection::new(
            codes::IDENTITY_INVALID,
            "this worker cannot check bearer tokens",
        ));
    };
    let sub = verifier
        .verify(identity)
        .await
        .map_err(|r| Rejection::new(codes::IDENTITY_INVALID, r.message()))?;
    if sub != player {
        return Err(Rejection::new(
            codes::IDENTITY_MISMATCH,
            "this reservation belongs to another player",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &str = "identity-test-secret-0123456789abcdef";

    fn verifier() -> JwtVerifier {
        roomshard_runtime::jwt::JwtArgs {
            auth_jwt_hs256_secret: Some(SECRET.into()),
            auth_jwt_leeway_seconds: 0,
            ..Default::default()
        }
        .verifier()
        .expect("valid")
        .expect("configured")
    }

    fn jwt(sub: &str) -> String {
        let exp = roomshard_protocol::now_ms() / 1000 + 60;
        encode(
            &Header::default(),
            &serde_json::json!({"sub": sub, "exp": exp}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signed")
    }

    fn code(r: Result<(), Rejection>) -> &'static str {
        r.expect_err("refused").code
    }

    #[tokio::test]
    async fn only_the_bound_player_gets_in() {
        let v = verifier();
        let ann = jwt("ann");
        assert!(check(Some(&v), Some("ann"), Some(&ann)).await.is_ok());
        assert_eq!(
            code(check(Some(&v), Some("ann"), Some(&jwt("bob"))).await),
            codes::IDENTITY_MISMATCH
        );
        assert_eq!(
            code(check(Some(&v), Some("ann"), None).await),
            codes::IDENTITY_REQUIRED
        );
        assert_eq!(
            code(check(Some(&v), Some("ann"), Some("not.a.jwt")).await),
            codes::IDENTITY_INVALID
        );
        assert_eq!(
            code(check(None, Some("ann"), Some(&ann)).await),
            codes::IDENTITY_INVALID
        );
        // An unbound seat asks for nothing, and ignores what it is shown.
        assert!(check(None, None, Some("anything")).await.is_ok());
    }
}
