//! The Secrets the operator owns for a set: the HMAC key the matchmaker signs tokens with
//! and workers check, and the set's Redis URL when it does not come from a Secret already.
//!
//! The token Secret is created once with a random value and never overwritten: rotating
//! it silently would invalidate every reservation in flight. The Redis Secret is named
//! after a fingerprint of the URL it holds and is immutable: a new URL is a new Secret,
//! and the pods, which name it, roll to it. Pods read both through `secretKeyRef`: a URL,
//! which may carry a password, is never a plain env value.

use super::env::secret_env;
use super::{Inputs, TOKEN_SECRET_KEY, names};
use crate::validate::RedisSource;
use k8s_openapi::api::core::v1::{EnvVar, Secret};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Key of the URL in the set's Redis Secret.
pub const REDIS_URL_KEY: &str = "redis-url";

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

/// The first 16 hex digits of the URL's SHA-256: enough to tell URLs apart.
fn fingerprint(url: &str) -> String {
    Sha256::digest(url.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The set's Redis Secret, when its URL is a literal (from the spec or the operator's
/// default); `None` when the spec names a Secret of its own.
pub fn redis_secret(inputs: &Inputs<'_>) -> Option<Secret> {
    let RedisSource::Url(url) = &inputs.valid.redis else {
        return None;
    };
    let name = names::redis_secret(&inputs.valid.name, &fingerprint(url));
    Some(Secret {
        metadata: inputs.meta(name, "redis"),
        type_: Some("Opaque".into()),
        immutable: Some(true),
        string_data: Some(BTreeMap::from([(REDIS_URL_KEY.to_owned(), url.clone())])),
        ..Secret::default()
    })
}

/// REDIS_URL of a pod of `set`: always from a Secret, the spec's or the set's own.
pub fn redis_env(set: &str, source: &RedisSource) -> EnvVar {
    match source {
        RedisSource::Url(url) => secret_env(
            "REDIS_URL",
            &names::redis_secret(set, &fingerprint(url)),
            REDIS_URL_KEY,
        ),
        RedisSource::Secret { name, key } => secret_env("REDIS_URL", name, key),
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

    #[test]
    fn a_literal_redis_url_lives_in_an_owned_secret_and_pods_reference_it() {
        let url = "rediss://app:pa55word@redis.example:6380/0";
        let s = owned_json(
            json!({"shards": 1, "image": "i", "redis": {"url": url}}),
            |i| redis_secret(i).expect("a literal URL gets a Secret"),
        );
        let name = s["metadata"]["name"].as_str().expect("name").to_owned();
        assert!(name.starts_with("game-redis-"), "{name}");
        assert!(!name.contains("pa55word"), "{name}");
        assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "RoomShardSet");
        assert_eq!(s["stringData"][REDIS_URL_KEY], url);
        assert_eq!(s["immutable"], true);

        let env =
            serde_json::to_value(redis_env("game", &RedisSource::Url(url.into()))).expect("json");
        assert!(env.get("value").is_none(), "{env}");
        assert_eq!(
            env["valueFrom"]["secretKeyRef"],
            json!({"name": name, "key": REDIS_URL_KEY, "optional": false})
        );
        let other = serde_json::to_value(redis_env(
            "game",
            &RedisSource::Url("redis://other:6379".into()),
        ))
        .expect("json");
        assert_ne!(
            other["valueFrom"]["secretKeyRef"]["name"], name,
            "a changed URL is a new Secret, so the pod template changes"
        );

        let from_spec = crate::build::fixture::with(
            json!({"shards": 1, "image": "i", "redis": {"secretRef": {"name": "redis", "key": "url"}}}),
            |i| serde_json::to_value(redis_secret(i)).expect("json"),
        );
        assert!(from_spec.is_null(), "a Secret of the spec is used as it is");
    }
}
