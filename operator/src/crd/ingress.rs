//! `spec.ingress`: the way in from outside the cluster, routed by shard id.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The Ingress the operator writes: `/shard/{i}` to shard i's Service for every shard the
/// set keeps, `/reserve` and `/rooms` to the matchmaker. Without a `publicUrl` the
/// matchmaker hands out `/shard/{i}` on the host the client reached it at (or on `host`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// Write the Ingress. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The host its rules match. Empty matches every host, so only one set per ingress
    /// class may leave it empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("ingress.host must be a lowercase DNS name, e.g. play.example.com"))]
    #[schemars(length(min = 1, max = 253))]
    pub host: Option<String>,
    /// The IngressClass. Default: the cluster's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub class_name: Option<String>,
    /// A TLS Secret for `host`: the Ingress terminates TLS and the default URLs are `wss://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub tls_secret_name: Option<String>,
    /// Annotations for the ingress controller, e.g. timeouts for long-lived WebSockets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl IngressSpec {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}
