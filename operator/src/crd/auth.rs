//! `spec.matchmaker.auth`: who may reserve at the set's matchmaker; `spec.redis.tls`: how
//! the set's pods know their Redis.

use super::SecretKeyRef;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The matchmaker's caller authentication. Secrets are named by Secret and key, never
/// written here; they reach the Pods through `secretKeyRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!self.mode.contains('jwt') || has(self.hs256Secret) || has(self.jwksUrl)").message("auth mode jwt needs hs256Secret or jwksUrl"))]
#[x_kube(validation = Rule::new("!self.mode.contains('api-key') || has(self.apiKeys)").message("auth mode api-key needs apiKeys"))]
pub struct MatchmakerAuthSpec {
    /// `jwt`, `api-key` or `none`, or a comma list such as `jwt,api-key`.
    #[schemars(
        length(min = 3, max = 64),
        regex(pattern = r"^(jwt|api-key|none)(,(jwt|api-key|none))*$")
    )]
    pub mode: String,
    /// The `iss` every bearer token must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub issuer: Option<String>,
    /// The `aud` every bearer token must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub audience: Option<String>,
    /// URL of the JSON Web Key Set with the RS256 and ES256 keys of bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub jwks_url: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub leeway_seconds: Option<i32>,
    /// Secret key holding the HS256 secret of bearer tokens (at least 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hs256_secret: Option<SecretKeyRef>,
    /// Secret key holding the API keys of game backends, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<SecretKeyRef>,
}

/// A Secret in the set's namespace holding the CA bundle that signs the Redis server's
/// certificate and, for mutual TLS, a client certificate as `tls.crt` and `tls.key` (the
/// shape of a `kubernetes.io/tls` Secret, such as cert-manager writes).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisTlsSpec {
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Key of the CA bundle in the Secret. Default `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub ca_key: Option<String>,
    /// Also present the Secret's `tls.crt` and `tls.key` to Redis (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<bool>,
}
