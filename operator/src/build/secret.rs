//! The Secret holding the HMAC key the matchmaker signs tokens with and workers check.
//!
//! It is created once with a random value and never overwritten: rotating it silently
//! would invalidate every reservation in flight.

use super::{Inputs, TOKEN_SECRET_KEY, names};
use k8s_openapi::api::core::v1::Secret;
use rand::Rng;
use std::collections::BTreeMap;

/// Bytes of randomness in a new token secret (hex-encoded, so twice as many characters).
pub const TOKEN_SECRET_BYTES: usize = 32;

/// A fresh random token secret value.
pub fn random_token_secret() -> String {
    let mut bytes = [0u8; TOKEN_SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token Secret carrying `value`.
pub fn token_secret(inputs: &Inputs<'_>, value: String) -> Secret {
    Secret {
        metadata: inputs.meta(names::token_secret(&inputs.valid.name), "token"),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([(TOKEN_SECRET_KEY.to_owned(), value)])),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::fixture::owned_json;
    use serde_json::json;

    #[test]
    fn token_secret_is_owned_and_random() {
        let a = random_token_secret();
        let b = random_token_secret();
        assert_eq!(a.len(), 64);
        assert!(a.len() >= roomshard_protocol::token::MIN_SECRET_BYTES);
        assert_ne!(a, b);
        let s = owned_json(json!({"shards": 1, "image": "i"}), |i| {
            token_secret(i, a.clone())
        });
        assert_eq!(s["metadata"]["name"], "game-token");
        assert_eq!(s["stringData"]["token-secret"], a);
        assert_eq!(s["type"], "Opaque");
    }
}
