//! The reservation token: proof, signed by the matchmaker, that a player holds a seat.
//!
//! Form: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, claims JSON))`, with no
//! padding. The claims name the set, room, shard, player, expiry and a random nonce; the
//! nonce also names the reservation in Redis, which makes a token single-use. The
//! signature is checked in constant time before the claims are parsed or trusted. A token
//! `bound` to its player is worth nothing to anyone who cannot also present that player's
//! bearer JWT.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Token format written by this release.
pub const TOKEN_VERSION: u32 = 1;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Longest token accepted; anything longer is malformed without further work.
pub const MAX_TOKEN_BYTES: usize = 2048;

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub v: u32,
    pub set: String,
    pub room: String,
    pub shard: u32,
    #[serde(default)]
    pub player: String,
    /// The matchmaker learned `player` from a verified bearer JWT: the worker seats only a
    /// client that presents a JWT for the same `sub`. Absent (false) when a game backend
    /// named the player, or nobody did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bound: bool,
    /// Expiry, ms since the epoch.
    pub exp: u64,
    pub nonce: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    #[error("token signature does not match (tampered, or signed with another secret)")]
    BadSignature,
    #[error("token expired at {expired_at} ms")]
    Expired { expired_at: u64 },
    #[error("token version {0} is not supported")]
    UnsupportedVersion(u32),
}

impl TokenError {
    /// A stable code for the client.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired { .. } => "token_expired",
            TokenError::BadSignature => "token_invalid",
            TokenError::Malformed(_) | TokenError::UnsupportedVersion(_) => "token_malformed",
        }
    }
}

/// Why a signing secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
pub struct SecretTooShort(pub usize);

/// The shared HMAC key of matchmakers and workers.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, SecretTooShort> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort(secret.len()));
        }
        Ok(Self { secret })
    }

    /// A random key, for a development process that signs and verifies its own tokens.
    pub fn random() -> Self {
        let secret: [u8; 32] = rand::random();
        Self {
            secret: secret.to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// A key of its own for another kind of signed claims, derived from this one
    /// (`HMAC(secret, label)`), so that claims signed for one purpose never verify as
    /// another's.
    pub fn derive(&self, label: &str) -> TokenKey {
        let mut mac = self.mac();
        mac.update(label.as_bytes());
        TokenKey {
            secret: mac.finalize().into_bytes().to_vec(),
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_json(claims)
    }

    /// Signs any claims in the token form.
    pub fn sign_json<T: Serialize>(&self, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let sig = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks the signature of a token in the token form, then parses its claims. Nothing
    /// of the claims is read before the signature matched.
    pub fn open_json<T: DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("too long"));
        }
        let (payload_b64, sig_b64) = token
            .split_once('.')
            .ok_or(TokenError::Malformed("missing '.' separator"))?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Malformed("claims are not base64url"))?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        serde_json::from_slice(&payload)
            .map_err(|_| TokenError::Malformed("claims are not the expected JSON"))
    }

    /// Verifies signature, format version and expiry against `now_ms`.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<Claims, TokenError> {
        let claims: Claims = self.open_json(token)?;
        if claims.v != TOKEN_VERSION {
            return Err(TokenError::UnsupportedVersion(claims.v));
        }
        if claims.exp <= now_ms {
            return Err(TokenError::Expired {
                expired_at: claims.exp,
            });
        }
        Ok(claims)
    }
}

/// A fresh random nonce: 128 bits, base64url.
pub fn new_nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> TokenKey {
        TokenKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).expect("long enough")
    }

    fn claims() -> Claims {
        Claims {
            v: TOKEN_VERSION,
            set: "default".into(),
            room: "r1".into(),
            shard: 2,
            player: "alice".into(),
            bound: false,
            exp: 10_000,
            nonce: new_nonce(),
        }
    }

    #[test]
    fn sign_then_verify() {
        let c = claims();
        let token = key().sign(&c);
        assert_eq!(key().verify(&token, 9_999), Ok(c));
    }

    #[test]
    fn expired() {
        let token = key().sign(&claims());
        assert_eq!(
            key().verify(&token, 10_000),
            Err(TokenError::Expired { expired_at: 10_000 })
        );
    }

    #[test]
    fn tampered_claims_or_signature() {
        let token = key().sign(&claims());
        let (payload, sig) = token.split_once('.').expect("two parts");
        let mut forged = claims();
        forged.shard = 0;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert_eq!(
            key().verify(&format!("{forged_payload}.{sig}"), 0),
            Err(TokenError::BadSignature)
        );
        let mut sig_bytes = URL_SAFE_NO_PAD.decode(sig).expect("b64");
        sig_bytes[0] ^= 1;
        let bad_sig = URL_SAFE_NO_PAD.encode(sig_bytes);
        assert_eq!(
            key().verify(&format!("{payload}.{bad_sig}"), 0),
            Err(TokenError::BadSignature)
        );
        let other = TokenKey::new(vec![7u8; 32]).expect("key");
        assert_eq!(other.verify(&token, 0), Err(TokenError::BadSignature));
    }

    #[test]
    fn malformed() {
        for bad in ["", "abc", "a.b", "!!.!!", ".", &"a.".repeat(2000)] {
            let err = key().verify(bad, 0).expect_err(bad);
            assert!(
                matches!(err, TokenError::Malformed(_) | TokenError::BadSignature),
                "{bad}: {err:?}"
            );
            assert!(err.code().starts_with("token_"));
        }
        // Validly signed but not claims.
        let mut mac = key().mac();
        mac.update(b"[1,2]");
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let token = format!("{}.{sig}", URL_SAFE_NO_PAD.encode(b"[1,2]"));
        assert!(matches!(
            key().verify(&token, 0),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_version() {
        let mut c = claims();
        c.v = 99;
        let token = key().sign(&c);
        assert_eq!(
            key().verify(&token, 0),
            Err(TokenError::UnsupportedVersion(99))
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            TokenKey::new(b"short".to_vec()).err(),
            Some(SecretTooShort(5))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in ".{0,300}") {
            let _ = key().verify(&s, 0);
        }
    }
}
