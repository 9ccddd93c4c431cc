//! Bearer JWTs, verified the same way wherever a player presents one: by the matchmaker
//! before it reserves a seat, and by the worker before it seats the player a reservation
//! was bound to. [`JwtArgs`] are the flags both binaries take; [`JwtArgs::verifier`] builds
//! the [`JwtVerifier`] they describe.

pub mod jwks;
pub mod verify;

use clap::Args;
use jwks::{Jwks, JwksSource};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
pub use verify::{JwtVerifier, MIN_HS256_SECRET_BYTES, Rejection};

/// The keys and claims bearer tokens are checked against.
#[derive(Debug, Clone, Default, Args)]
pub struct JwtArgs {
    /// Shared secret of HS256 bearer tokens (at least 32 bytes).
    #[arg(long, env = "AUTH_JWT_HS256_SECRET", hide_env_values = true)]
    pub auth_jwt_hs256_secret: Option<String>,

    /// JSON Web Key Set file with the RS256 and ES256 public keys of bearer tokens.
    #[arg(long, env = "AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<PathBuf>,

    /// URL (http or https) of the JSON Web Key Set with the RS256 and ES256 public keys.
    #[arg(long, env = "AUTH_JWKS_URL")]
    pub auth_jwks_url: Option<String>,

    /// Seconds between two reloads of the key set (it is also reloaded when a token names
    /// an unknown `kid`, at most once per AUTH_JWKS_MIN_REFRESH_SECONDS).
    #[arg(long, env = "AUTH_JWKS_REFRESH_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_jwks_refresh_seconds: u64,

    /// Fewest seconds between two reloads of the key set, whatever tokens arrive.
    #[arg(long, env = "AUTH_JWKS_MIN_REFRESH_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_jwks_min_refresh_seconds: u64,

    /// The `iss` every bearer token must carry.
    #[arg(long, env = "AUTH_JWT_ISSUER")]
    pub auth_jwt_issuer: Option<String>,

    /// The `aud` every bearer token must carry.
    #[arg(long, env = "AUTH_JWT_AUDIENCE")]
    pub auth_jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[arg(long, env = "AUTH_JWT_LEEWAY_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub auth_jwt_leeway_seconds: u64,
}

impl JwtArgs {
    /// The verifier these flags describe; `None` when they name no key at all.
    pub fn verifier(&self) -> Result<Option<JwtVerifier>, String> {
        let hs256 = match &self.auth_jwt_hs256_secret {
            Some(s) if s.len() < MIN_HS256_SECRET_BYTES => {
                return Err(format!(
                    "AUTH_JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes"
                ));
            }
            Some(s) => Some(jsonwebtoken::DecodingKey::from_secret(s.as_bytes())),
            None => None,
        };
        let jwks = match self.source()? {
            Some(source) => Some(Arc::new(
                Jwks::new(
                    source,
                    Duration::from_secs(self.auth_jwks_refresh_seconds),
                    Duration::from_secs(self.auth_jwks_min_refresh_seconds),
                )
                .map_err(|e| format!("AUTH_JWKS_FILE: {e}"))?,
            )),
            None => None,
        };
        if hs256.is_none() && jwks.is_none() {
            return Ok(None);
        }
        if self.auth_jwt_issuer.is_none() || self.auth_jwt_audience.is_none() {
            tracing::warn!(
                "AUTH_JWT_ISSUER or AUTH_JWT_AUDIENCE is not set: tokens of any issuer or \
                 audience signed with an accepted key are taken"
            );
        }
        Ok(Some(JwtVerifier {
            hs256,
            jwks,
            issuer: self.auth_jwt_issuer.clone(),
            audience: self.auth_jwt_audience.clone(),
            leeway_seconds: self.auth_jwt_leeway_seconds,
        }))
    }

    fn source(&self) -> Result<Option<JwksSource>, String> {
        match (&self.auth_jwks_file, &self.auth_jwks_url) {
            (Some(_), Some(_)) => Err("set AUTH_JWKS_FILE or AUTH_JWKS_URL, not both".into()),
            (Some(path), None) => Ok(Some(JwksSource::File(path.clone()))),
            (None, Some(url)) => {
                let uri: hyper::Uri = url
                    .parse()
                    .map_err(|e| format!("AUTH_JWKS_URL is not a URL: {e}"))?;
                if !matches!(uri.scheme_str(), Some("http" | "https")) {
                    return Err("AUTH_JWKS_URL must be an http or https URL".into());
                }
                Ok(Some(JwksSource::Url(uri)))
            }
            (None, None) => Ok(None),
        }
    }
}

impl JwtVerifier {
    /// The key set to keep fresh, if tokens are checked against one.
    pub fn key_set(&self) -> Option<Arc<Jwks>> {
        self.jwks.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_means_no_verifier() {
        let none = JwtArgs::default();
        assert!(matches!(none.verifier(), Ok(None)));
        let short = JwtArgs {
            auth_jwt_hs256_secret: Some("short".into()),
            ..JwtArgs::default()
        };
        assert!(short.verifier().is_err());
        let both = JwtArgs {
            auth_jwks_file: Some("k.json".into()),
            auth_jwks_url: Some("https://keys.example/jwks".into()),
            ..JwtArgs::default()
        };
        assert!(both.verifier().is_err());
        let ftp = JwtArgs {
            auth_jwks_url: Some("ftp://keys.example/jwks".into()),
            ..JwtArgs::default()
        };
        assert!(ftp.verifier().is_err());
    }
}
