//! Bearer tokens: HS256 with a shared secret, RS256 and ES256 with the keys of a JSON Web
//! Key Set. Only the algorithms with a configured key are accepted, never `none`; `exp` and
//! `sub` are required, `iss` and `aud` when configured.

use super::jwks::Jwks;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use std::sync::Arc;

/// Shortest HS256 secret accepted, in bytes.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Checks bearer tokens against the configured keys and claims.
pub struct JwtVerifier {
    pub hs256: Option<DecodingKey>,
    pub jwks: Option<Arc<Jwks>>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_seconds: u64,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Which keys, never the keys.
        f.debug_struct("JwtVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("jwks", &self.jwks.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_seconds", &self.leeway_seconds)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
}

/// Why a token was refused; the client sees these words, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    Claims,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::Algorithm => "algorithm",
            Rejection::UnknownKey => "unknown_key",
            Rejection::Signature => "signature",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::Issuer => "issuer",
            Rejection::Audience => "audience",
            Rejection::Claims => "claims",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Rejection::Malformed => "the bearer token is not a well-formed JWT",
            Rejection::Algorithm => "the bearer token's algorithm is not accepted",
            Rejection::UnknownKey => "the bearer token names no key known here",
            Rejection::Signature => "the bearer token's signature does not verify",
            Rejection::Expired => "the bearer token has expired",
            Rejection::NotYetValid => "the bearer token is not valid yet",
            Rejection::Issuer => "the bearer token's issuer is not accepted",
            Rejection::Audience => "the bearer token's audience is not accepted",
            Rejection::Claims => "the bearer token lacks a required claim",
        }
    }
}

fn classify(e: &jsonwebtoken::errors::Error) -> Rejection {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => Rejection::Signature,
        K::ExpiredSignature => Rejection::Expired,
        K::ImmatureSignature => Rejection::NotYetValid,
        K::InvalidIssuer => Rejection::Issuer,
        K::InvalidAudience => Rejection::Audience,
        K::InvalidAlgorithm | K::InvalidAlgorithmName => Rejection::Algorithm,
        K::MissingRequiredClaim(_) | K::InvalidSubject | K::Json(_) => Rejection::Claims,
        K::InvalidEcdsaKey | K::InvalidRsaKey(_) | K::InvalidKeyFormat => Rejection::Signature,
        _ => Rejection::Malformed,
    }
}

impl JwtVerifier {
    /// The token's `sub`, once every check passed.
    pub async fn verify(&self, token: &str) -> Result<String, Rejection> {
        // `alg: none` (or any name the crate does not know) fails here.
        let header = decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => Rejection::Algorithm,
            _ => Rejection::Malformed,
        })?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.clone().ok_or(Rejection::Algorithm)?,
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self.jwks.as_ref().ok_or(Rejection::Algorithm)?;
                jwks.key(header.kid.as_deref(), header.alg)
                    .await
                    .ok_or(Rejection::UnknownKey)?
            }
            _ => return Err(Rejection::Algorithm),
        };
        let mut v = Validation::new(header.alg);
        v.leeway = self.leeway_seconds;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(iss) => {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            None => v.iss = None,
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        let data = decode::<TokenClaims>(token, &key, &v).map_err(|e| classify(&e))?;
        Ok(data.claims.sub)
    }
}
