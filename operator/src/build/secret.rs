//! The Secrets the operator owns for a set: the HMAC key the matchmaker signs tokens with
//! and workers check, and the set's Redis URL when it does not come from a Secret already.
//!
//! The token Secret is created once with a random value and never overwritten: rotating
//! it silently would invalidate every reservation in flight. The Redis Secret is applied
//! every reconcile, so it follows the spec (or the operator's REDIS_URL). Pods read both
//! through `secretKeyRef`: a URL, which may carry a password, is never a plain env value.

use super::statefulset::secret_env;
use super::{Inputs, TOKEN_SECRET_KEY, names};
use crate::validate::RedisSource;
use k8s_openapi::api::core::v1::{EnvVar, Secret};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Key of the URL in the set's Redis Secret.
pub const REDIS_URL_KEY: &str = "redis-url";

/// Pod-template annotation that changes when the URL in the set's Redis Secret does, so
/// that the pods restart with it (env from a Secret is read at container start).
pub const REDIS_URL_HASH_ANNOTATION: &str = "roomshard.dev/redis-url-sha256";

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

/// The set's Redis Secret, when its URL is a literal (from the spec or the operator's
/// default); `None` when the spec names a Secret of its own.
pub fn redis_secret(inputs: &Inputs<'_>) -> Option<Secret> {
    let RedisSource::Url(url) = &inputs.valid.redis else {
        return None;
    };
    Some(Secret {
        metadata: inputs.meta(names::redis_secret(&inputs.valid.name), "redis"),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([(REDIS_URL_KEY.to_owned(), url.clone())])),
        ..Secret::default()
    })
}

/// REDIS_URL of a pod of `set`: always from a Secret, the spec's or the set's own.
pub fn redis_env(set: &str, source: &RedisSource) -> EnvVar {
    match source {
        RedisSource::Url(_) => secret_env("REDIS_URL", &names::redis_secret(set), REDIS_URL_KEY),
        RedisSource::Secret { name, key } => secret_env("REDIS_URL", name, key),
    }
}

/// The [`REDIS_URL_HASH_ANNOTATION`] of a set whose URL is in its own Redis Secret: the
/// first 16 hex digits of the URL's SHA-256, enough to notice a change.
pub fn redis_url_annotation(source: &RedisSource) -> Option<(String, String)> {
    let RedisSource::Url(url) = source else {
        return None;
    };
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some((REDIS_URL_HASH_ANNOTATION.to_owned(), hex))
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

    #[test]
    fn a_literal_redis_url_lives_in_an_owned_secret_and_pods_reference_it() {
        let url = "rediss://app:pa55word@redis.example:6380/0";
        let s = owned_json(
            json!({"shards": 1, "image": "i", "redis": {"url": url}}),
            |i| redis_secret(i).expect("a literal URL gets a Secret"),
        );
        assert_eq!(s["metadata"]["name"], "game-redis");
        assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "RoomShardSet");
        assert_eq!(s["stringData"][REDIS_URL_KEY], url);

        let env =
            serde_json::to_value(redis_env("game", &RedisSource::Url(url.into()))).expect("json");
        assert!(env.get("value").is_none(), "{env}");
        assert_eq!(
            env["valueFrom"]["secretKeyRef"],
            json!({"name": "game-redis", "key": REDIS_URL_KEY, "optional": false})
        );
        let (_, hash) = redis_url_annotation(&RedisSource::Url(url.into())).expect("hash");
        assert_eq!(hash.len(), 16);
        assert!(!hash.contains("pa55word"));
        let (_, other) =
            redis_url_annotation(&RedisSource::Url("redis://other:6379".into())).expect("hash");
        assert_ne!(hash, other, "a changed URL changes the pod template");

        let named = RedisSource::Secret {
            name: "redis".into(),
            key: "url".into(),
        };
        assert!(redis_url_annotation(&named).is_none());
        let from_spec = crate::build::fixture::with(
            json!({"shards": 1, "image": "i", "redis": {"secretRef": {"name": "redis", "key": "url"}}}),
            |i| serde_json::to_value(redis_secret(i)).expect("json"),
        );
        assert!(from_spec.is_null(), "a Secret of the spec is used as it is");
    }
}
