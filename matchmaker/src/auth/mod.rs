//! Who is calling: a bearer JWT (its `sub` is the player), a game backend's API key (it
//! names the player in the body), or nobody, in the modes AUTH_MODE allows.

pub mod args;

use args::{AuthArgs, comma_list};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use roomshard_runtime::jwt::jwks::Jwks;
use roomshard_runtime::jwt::{JwtVerifier, Rejection};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The header a game backend sends its API key in.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Shortest API key accepted.
pub const MIN_API_KEY_CHARS: usize = 16;

/// The modes AUTH_MODE allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modes {
    pub jwt: bool,
    pub api_key: bool,
    pub none: bool,
}

impl Modes {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut m = Modes::default();
        for item in comma_list(s) {
            match item.to_ascii_lowercase().as_str() {
                "jwt" => m.jwt = true,
                "api-key" => m.api_key = true,
                "none" => m.none = true,
                other => {
                    return Err(format!(
                        "AUTH_MODE: unknown mode {other:?} (jwt, api-key, none)"
                    ));
                }
            }
        }
        if m == Modes::default() {
            return Err("AUTH_MODE names no mode (jwt, api-key, none)".into());
        }
        Ok(m)
    }
}

/// A caller that passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials, in `none` mode.
    Anonymous,
    /// A bearer token's `sub`.
    Player(String),
    /// A game backend, by a fingerprint of its key (never the key).
    Backend(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Caller {
    /// The scope of this caller's idempotency keys: no two callers share one, and none is a
    /// prefix another caller can choose.
    pub fn scope(&self) -> String {
        match self {
            Caller::Anonymous => "anon".to_owned(),
            Caller::Player(sub) => format!("jwt-{}", &hex(&digest(sub.as_bytes()))[..32]),
            Caller::Backend(fingerprint) => format!("key-{fingerprint}"),
        }
    }

    /// `anonymous`, `jwt` or `api_key`, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Player(_) => "jwt",
            Caller::Backend(_) => "api_key",
        }
    }
}

/// Why a request was not authenticated: the reason for metrics, the message for the
/// client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub reason: &'static str,
    pub message: &'static str,
}

impl From<Rejection> for Refused {
    fn from(r: Rejection) -> Self {
        Refused {
            reason: r.reason(),
            message: r.message(),
        }
    }
}

const MISSING: Refused = Refused {
    reason: "missing",
    message: "credentials are required: Authorization: Bearer <JWT> or X-Api-Key",
};

/// Authentication as configured.
pub struct Auth {
    pub modes: Modes,
    jwt: Option<JwtVerifier>,
    /// SHA-256 digests of the API keys, compared in constant time.
    api_keys: Vec<[u8; 32]>,
}

impl Auth {
    /// No authentication (`AUTH_MODE=none`).
    pub fn open() -> Self {
        Auth {
            modes: Modes {
                none: true,
                ..Modes::default()
            },
            jwt: None,
            api_keys: Vec::new(),
        }
    }

    /// Builds the configured modes. Without AUTH_MODE a loopback-only matchmaker runs in
    /// `none` mode and says so; any other refuses to start.
    pub fn from_args(a: &AuthArgs, loopback_only: bool) -> Result<Self, String> {
        let modes = match a.auth_mode.as_deref() {
            Some(s) => Modes::parse(s)?,
            None if loopback_only => {
                tracing::warn!(
                    "AUTH_MODE is not set: this matchmaker listens on loopback only and \
                     accepts reservations from anyone who can reach it (mode none)"
                );
                Modes::parse("none")?
            }
            None => {
                return Err(
                    "AUTH_MODE must be set (jwt, api-key or none, or a comma list) \
                            when the matchmaker listens beyond loopback"
                        .into(),
                );
            }
        };
        if modes.none {
            tracing::warn!("AUTH_MODE includes none: callers without credentials may reserve");
        }
        let jwt = if modes.jwt {
            Some(a.jwt.verifier()?.ok_or(
                "AUTH_MODE jwt needs AUTH_JWT_HS256_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL",
            )?)
        } else {
            None
        };
        let api_keys = if modes.api_key {
            let keys = api_keys(a)?;
            keys.iter().map(|k| digest(k.as_bytes())).collect()
        } else {
            Vec::new()
        };
        Ok(Auth {
            modes,
            jwt,
            api_keys,
        })
    }

    /// Whether a caller needs credentials.
    pub fn required(&self) -> bool {
        !self.modes.none
    }

    /// The key set to keep fresh, if bearer tokens are checked against one.
    pub fn jwks(&self) -> Option<Arc<Jwks>> {
        self.jwt.as_ref().and_then(JwtVerifier::key_set)
    }

    /// Who is calling, by the credentials in `headers`. Credentials that are present are
    /// always checked, in every mode: a bad token is refused even where `none` is allowed.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Refused> {
        if let Some(value) = headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .ok_or(Refused {
                    reason: "scheme",
                    message: "the Authorization header must be Bearer <JWT>",
                })?;
            let verifier = self.jwt.as_ref().ok_or(Refused {
                reason: "mode",
                message: "bearer tokens are not accepted here (AUTH_MODE)",
            })?;
            return verifier
                .verify(token)
                .await
                .map(Caller::Player)
                .map_err(Refused::from);
        }
        if let Some(value) = headers.get(API_KEY_HEADER) {
            if !self.modes.api_key {
                return Err(Refused {
                    reason: "mode",
                    message: "API keys are not accepted here (AUTH_MODE)",
                });
            }
            let given = digest(value.as_bytes());
            // Every key is compared, in constant time, whichever matches.
            let mut matched: Option<&[u8; 32]> = None;
            for key in &self.api_keys {
                if bool::from(key.ct_eq(&given)) {
                    matched = Some(key);
                }
            }
            return matched
                .map(|k| Caller::Backend(hex(&k[..8])))
                .ok_or(Refused {
                    reason: "api_key",
                    message: "the API key is not valid",
                });
        }
        if self.modes.none {
            Ok(Caller::Anonymous)
        } else {
            Err(MISSING)
        }
    }
}

fn api_keys(a: &AuthArgs) -> Result<Vec<String>, String> {
    let mut keys = a
        .auth_api_keys
        .as_deref()
        .map(comma_list)
        .unwrap_or_default();
    if let Some(path) = &a.auth_api_keys_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("AUTH_API_KEYS_FILE: cannot read {}: {e}", path.display()))?;
        keys.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    if keys.is_empty() {
        return Err("AUTH_MODE api-key needs AUTH_API_KEYS or AUTH_API_KEYS_FILE".into());
    }
    if keys.iter().any(|k| k.chars().count() < MIN_API_KEY_CHARS) {
        return Err(format!(
            "every API key must be at least {MIN_API_KEY_CHARS} characters long"
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(
            Modes::parse("jwt, api-key").expect("valid"),
            Modes {
                jwt: true,
                api_key: true,
                none: false
            }
        );
        assert!(Modes::parse("").is_err());
        assert!(Modes::parse("basic").is_err());
    }

    #[test]
    fn scopes_never_collide() {
        let a = Caller::Player("anon".into()).scope();
        let b = Caller::Anonymous.scope();
        let c = Caller::Backend("00ff".into()).scope();
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert!(a.starts_with("jwt-") && a.len() == 36);
    }
}
