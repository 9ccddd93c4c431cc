//! The `RoomShardSet` custom resource (`roomshard.dev/v1alpha1`).
//!
//! The schema carries the validation the API server can do itself (ranges, enums, required
//! fields, CEL rules with readable messages), so a bad spec is refused at `kubectl apply`
//! time. [`crate::validate`] re-checks what the controller relies on, because a CRD
//! installed from an older release may have let something through.

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod auth;
mod autoscale;
mod game;
mod hooks;
mod ingress;
mod status;
pub use auth::{MatchmakerAuthSpec, RedisTlsSpec};
pub use autoscale::AutoscaleSpec;
pub use game::{EntityStateSpec, EventScope, EventSpec, MAX_EVENT_BYTES};
pub use hooks::{BreakerSpec, HookFailure, HookSpec, HooksSpec};
pub use ingress::IngressSpec;
pub use status::{
    AutoscaleStatus, Condition, DrainStatus, RolloutPhase, RolloutStatus, RoomShardSetStatus,
    ShardStatus,
};

/// The finalizer that guards the set's Redis state.
pub const FINALIZER: &str = "roomshard.dev/redis-state";

/// Default worker port.
pub const DEFAULT_PORT: i32 = 3000;
/// The port of /healthz, /readyz and /metrics in the worker pods (named `ops`): no Service
/// the operator makes exposes it; probes and Prometheus reach it on the pod.
pub const OPS_PORT: i32 = 9090;
/// Default matchmaker replica count.
pub const DEFAULT_MATCHMAKER_REPLICAS: i32 = 2;
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT_INTERVAL_SECONDS: i32 = 2;
/// Default time a draining shard is given to empty before it is removed anyway.
pub const DEFAULT_DRAIN_TIMEOUT_SECONDS: i64 = 300;

/// A sharded set of Socket.IO workers, their Services and the matchmaker in front of them.
// Each printer column repeats `type_ = "integer"`, which clippy mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "roomshard.dev",
    version = "v1alpha1",
    kind = "RoomShardSet",
    plural = "roomshardsets",
    shortname = "rss",
    namespaced,
    status = "RoomShardSetStatus",
    derive = "PartialEq",
    doc = "A sharded set of Socket.IO workers (one StatefulSet pod per shard), their Services, and the matchmaker that hands out seats.",
    scale(
        spec_replicas_path = ".spec.shards",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Shards",
        type_ = "integer",
        json_path = ".spec.shards",
        description = "Desired shard count"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Ready worker pods"
    ),
    printcolumn(
        name = "Updated",
        type_ = "integer",
        json_path = ".status.updatedReplicas",
        description = "Worker pods on the newest template"
    ),
    printcolumn(
        name = "Rollout",
        type_ = "string",
        json_path = ".status.rollout.phase",
        description = "The step of the rollout now (Proving, Draining, Replacing)"
    ),
    printcolumn(
        name = "Rooms",
        type_ = "integer",
        json_path = ".status.rooms",
        description = "Live rooms across shards"
    ),
    printcolumn(
        name = "Players",
        type_ = "integer",
        json_path = ".status.players",
        description = "Connected players across shards"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.autoscale) || (self.shards >= self.autoscale.minShards && self.shards <= self.autoscale.maxShards)").message("with autoscale, shards must stay between autoscale.minShards and autoscale.maxShards"))]
pub struct RoomShardSetSpec {
    /// Number of worker shards N; pod i runs shard i of N.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1024").message("shards must be between 1 and 1024"))]
    #[schemars(range(min = 1, max = 1024))]
    pub shards: i32,

    /// Container image holding every Roomshard binary (worker, matchmaker).
    #[x_kube(validation = Rule::new("self.size() > 0").message("image must not be empty"))]
    pub image: String,

    /// Pull policy of the worker and matchmaker images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Resources of each worker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Extra settings of the worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<PodTemplateOverrides>,

    /// TCP port of each worker (Socket.IO and HTTP). Default 3000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    /// Seats each shard offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacitySpec>,

    /// Where the set keeps its shared state. Default: the operator's own REDIS_URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisSpec>,

    /// The client-facing Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ClientServiceSpec>,

    /// The Ingress that routes `/shard/{i}`, `/reserve` and `/rooms` from outside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,

    /// URL template the matchmaker hands out; `{shard}` becomes the shard index, e.g.
    /// `wss://play.example.com/shard/{shard}`; a leading `{origin}` is the scheme and host
    /// the client reached the matchmaker at. Default: `/shard/{shard}` through the Ingress
    /// (`{origin}/shard/{shard}`, or on `ingress.host`), else the per-shard Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.contains('{shard}')").message("publicUrl must contain the placeholder {shard}, e.g. wss://play.example.com/shard/{shard}"))]
    #[schemars(length(min = 1, max = 2048))]
    pub public_url: Option<String>,

    /// The matchmaker Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matchmaker: Option<MatchmakerSpec>,

    /// Seconds between two worker heartbeats. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60))]
    pub heartbeat_interval_seconds: Option<i32>,

    /// How shards are drained on scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainSpec>,

    /// Rollouts of a new pod template: one shard at a time, each drained first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSpec>,

    /// How long a player whose connection dropped keeps its seat to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeSpec>,

    /// What each worker's client port lets in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeSpec>,

    /// The game's custom events, relayed by the workers to the receivers their scope names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub events: Vec<EventSpec>,

    /// The application-defined state of each player's entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_state: Option<EntityStateSpec>,

    /// Server hooks: HTTP webhooks from the workers to the game's backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<HooksSpec>,

    /// Occupancy autoscaling: the operator sets `shards` from the seats in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleSpec>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ImagePullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl ImagePullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePullPolicy::Always => "Always",
            ImagePullPolicy::IfNotPresent => "IfNotPresent",
            ImagePullPolicy::Never => "Never",
        }
    }
}

/// Pod-level settings merged into the worker pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateOverrides {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacitySpec {
    /// Rooms one shard hosts at most.
    #[schemars(range(min = 1, max = 100000))]
    pub rooms_per_shard: i32,
    /// Players one room holds at most.
    #[schemars(range(min = 1, max = 10000))]
    pub players_per_room: i32,
}

/// Redis: a URL, or a Secret key holding one. Neither means the operator's default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.url) && has(self.secretRef))").message("redis takes either url or secretRef, not both"))]
pub struct RedisSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
    /// The CA (and for mutual TLS the client certificate) of a `rediss://` Redis, mounted
    /// into the worker and matchmaker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RedisTlsSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret in the set's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the Secret whose value is used.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SessionAffinity {
    ClientIP,
    None,
}

impl SessionAffinity {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionAffinity::ClientIP => "ClientIP",
            SessionAffinity::None => "None",
        }
    }
}

/// The client-facing Service of the workers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientServiceSpec {
    /// Default LoadBalancer.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<ServiceType>,
    /// E.g. `service.beta.kubernetes.io/aws-load-balancer-backend-protocol: tcp`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Default ClientIP, so a reconnecting client lands on the same pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub session_affinity_timeout_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchmakerSpec {
    /// Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: Option<i32>,
    /// Default: the worker image (it holds every binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Reservation lifetime in milliseconds. Default 30000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1000, max = 600000))]
    pub reservation_ttl_ms: Option<i64>,
    /// Who may reserve (AUTH_MODE and its settings). Without it the matchmaker refuses to
    /// start: every set chooses its mode, `none` included, explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<MatchmakerAuthSpec>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrainSpec {
    /// Longest wait for a draining shard to empty before it is removed anyway. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub timeout_seconds: Option<i64>,
}

/// Rollouts of a new worker pod template (see `docs/OPERATOR.md`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// How long a replaced shard's new pod may take to turn Ready before the rollout
    /// halts. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub progress_deadline_seconds: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeSpec {
    /// Seconds a dropped player keeps its seat, entity and id for a resume; 0 frees the
    /// seat at once. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub window_seconds: Option<i32>,
    /// Room events (chat, presence) each room keeps for resumes to replay. Default 256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65536))]
    pub buffer_events: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EdgeSpec {
    /// Client connections one worker holds at once; more are closed as they arrive.
    /// Default 20000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000))]
    pub max_connections: Option<i32>,
    /// Client connections one peer address may hold on a worker; 0 for no limit (behind a
    /// proxy that hides client addresses). Default 256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000000))]
    pub max_connections_per_ip: Option<i32>,
    /// Seconds a connection may stay without joining or resuming. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub join_timeout_seconds: Option<i32>,
    /// Origins browsers may open game connections from (`https://play.example.com`);
    /// empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_origins: Vec<String>,
}

impl RoomShardSetSpec {
    pub fn port(&self) -> i32 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    pub fn heartbeat_interval_ms(&self) -> i64 {
        i64::from(
            self.heartbeat_interval_seconds
                .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL_SECONDS),
        ) * 1000
    }

    pub fn ingress(&self) -> Option<&IngressSpec> {
        static DEFAULT: IngressSpec = IngressSpec {
            enabled: None,
            host: None,
            class_name: None,
            tls_secret_name: None,
            annotations: BTreeMap::new(),
        };
        Some(self.ingress.as_ref().unwrap_or(&DEFAULT)).filter(|i| i.is_enabled())
    }

    /// Seats per shard: `capacity`, or 100 rooms of 16.
    pub fn capacity(&self) -> CapacitySpec {
        self.capacity.unwrap_or(CapacitySpec {
            rooms_per_shard: 100,
            players_per_room: 16,
        })
    }

    pub fn progress_deadline_seconds(&self) -> i64 {
        self.rollout
            .and_then(|r| r.progress_deadline_seconds)
            .unwrap_or(300)
    }

    pub fn drain_timeout_seconds(&self) -> i64 {
        self.drain
            .and_then(|d| d.timeout_seconds)
            .unwrap_or(DEFAULT_DRAIN_TIMEOUT_SECONDS)
    }

    pub fn matchmaker_replicas(&self) -> i32 {
        self.matchmaker
            .as_ref()
            .and_then(|m| m.replicas)
            .unwrap_or(DEFAULT_MATCHMAKER_REPLICAS)
    }

    pub fn matchmaker_image(&self) -> &str {
        self.matchmaker
            .as_ref()
            .and_then(|m| m.image.as_deref())
            .unwrap_or(&self.image)
    }
}

#[cfg(test)]
mod tests;
