//! The operator's flags, each with an environment fallback, and the settings they make.

use crate::build::Defaults;
use crate::crd::{HooksSpec, MatchmakerAuthSpec};
use clap::Parser;
use k8s_openapi::api::core::v1::ResourceRequirements;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "roomshard-operator",
    version,
    about = "Reconciles RoomShardSets into sharded Roomshard workers"
)]
pub struct Cli {
    /// Redis for sets whose spec names none (it may carry a password, so its value is
    /// never shown).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// CA and client certificate for `rediss://` URLs (the operator's own connections).
    #[command(flatten)]
    pub redis_tls: roomshard_runtime::redis::RedisTls,
    /// Namespace to watch; all namespaces when unset.
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "roomshard-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Namespace the operator runs in (from the downward API).
    #[arg(long, env = "POD_NAMESPACE")]
    pub pod_namespace: Option<String>,
    /// Lease duration in seconds: how long a dead leader blocks a standby.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// Seconds before expiry at which the leader renews.
    #[arg(long, env = "LEASE_GRACE_SECONDS", default_value_t = 5)]
    pub lease_grace_seconds: u64,
    /// Holder identity in the Lease (the pod name); a random one when unset.
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDRESS", default_value = "0.0.0.0")]
    pub metrics_address: IpAddr,
    /// Port of /healthz, /readyz and /metrics (the operator serves nothing else). The
    /// name every Roomshard binary uses; METRICS_PORT is its older name.
    #[arg(long, env = "OPS_PORT")]
    pub ops_port: Option<u16>,
    /// Older name of OPS_PORT, read when OPS_PORT is not set.
    #[arg(long, env = "METRICS_PORT", default_value_t = 8080)]
    pub metrics_port: u16,
    /// Seconds between two status refreshes of a settled set.
    #[arg(long, env = "RESYNC_SECONDS", default_value_t = 30)]
    pub resync_seconds: u64,
    /// Seconds between two checks of a running drain.
    #[arg(long, env = "DRAIN_POLL_SECONDS", default_value_t = 2)]
    pub drain_poll_seconds: u64,
    /// Resources (a ResourceRequirements as JSON, such as
    /// `{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"512Mi"}}`) of every
    /// worker and matchmaker container whose set names none.
    #[arg(long, env = "DEFAULT_RESOURCES", value_parser = parse_resources)]
    pub default_resources: Option<ResourceRequirements>,
    /// Caller authentication (a `spec.matchmaker.auth` as JSON, such as
    /// `{"mode":"jwt","jwksUrl":"https://id.example/jwks.json"}`) of every matchmaker whose
    /// set names none. Secrets it names must exist in each set's namespace.
    #[arg(long, env = "DEFAULT_MATCHMAKER_AUTH", value_parser = parse_auth)]
    pub default_matchmaker_auth: Option<MatchmakerAuthSpec>,
    /// Server hooks (a `spec.hooks` as JSON, such as
    /// `{"onJoin":{"url":"http://game-backend.games:8080/join"}}`) of every set that names
    /// none. A `secretRef` it names must exist in each set's namespace.
    #[arg(long, env = "DEFAULT_HOOKS", value_parser = parse_hooks)]
    pub default_hooks: Option<HooksSpec>,
    /// Seconds the finalizer spends on Redis clean-up before letting deletion proceed.
    #[arg(long, env = "CLEANUP_TIMEOUT_SECONDS", default_value_t = 10)]
    pub cleanup_timeout_seconds: u64,
}

/// DEFAULT_RESOURCES: a ResourceRequirements object, or empty for none.
fn parse_resources(s: &str) -> Result<ResourceRequirements, String> {
    serde_json::from_str(s).map_err(|e| {
        format!("DEFAULT_RESOURCES must be a JSON object with requests and limits: {e}")
    })
}

/// DEFAULT_MATCHMAKER_AUTH: a `spec.matchmaker.auth`, held to the same checks.
fn parse_auth(s: &str) -> Result<MatchmakerAuthSpec, String> {
    let auth: MatchmakerAuthSpec = serde_json::from_str(s).map_err(|e| {
        format!("DEFAULT_MATCHMAKER_AUTH must be a spec.matchmaker.auth object: {e}")
    })?;
    crate::validate::check_auth(&auth).map_err(|e| format!("DEFAULT_MATCHMAKER_AUTH: {e}"))?;
    Ok(auth)
}

/// DEFAULT_HOOKS: a `spec.hooks`, held to the same checks.
fn parse_hooks(s: &str) -> Result<HooksSpec, String> {
    let hooks: HooksSpec = serde_json::from_str(s)
        .map_err(|e| format!("DEFAULT_HOOKS must be a spec.hooks object: {e}"))?;
    crate::validate::check_default_hooks(&hooks).map_err(|e| format!("DEFAULT_HOOKS: {e}"))?;
    Ok(hooks)
}

impl Cli {
    /// Where /healthz, /readyz and /metrics are served.
    pub fn metrics_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.metrics_address,
            self.ops_port.unwrap_or(self.metrics_port),
        )
    }

    /// The Lease this replica competes for, held as `identity`.
    pub fn lease(&self, identity: String) -> LeaseConfig {
        LeaseConfig {
            name: self.lease_name.clone(),
            namespace: self
                .lease_namespace
                .clone()
                .or(self.pod_namespace.clone())
                .unwrap_or_else(|| "default".into()),
            identity,
            duration: Duration::from_secs(self.lease_duration_seconds),
            grace: Duration::from_secs(
                self.lease_grace_seconds
                    .min(self.lease_duration_seconds.saturating_sub(1)),
            ),
        }
    }

    /// The controller's settings.
    pub fn controller(&self) -> Config {
        Config {
            default_redis_url: self.redis_url.clone(),
            defaults: Defaults {
                resources: self.default_resources.clone(),
                matchmaker_auth: self.default_matchmaker_auth.clone(),
                hooks: self.default_hooks.clone(),
            },
            redis_tls: self.redis_tls.clone(),
            namespace: self.watch_namespace.clone(),
            cleanup_budget: Duration::from_secs(self.cleanup_timeout_seconds),
            resync: Duration::from_secs(self.resync_seconds.max(1)),
            drain_poll: Duration::from_secs(self.drain_poll_seconds.max(1)),
        }
    }
}

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    /// The holder identity (the pod name).
    pub identity: String,
    pub duration: Duration,
    pub grace: Duration,
}

/// Settings of the controller (from the operator's flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis for sets that name none.
    pub default_redis_url: Option<String>,
    /// What sets that leave a part out get.
    pub defaults: Defaults,
    /// TLS settings of the operator's Redis clients.
    pub redis_tls: roomshard_runtime::redis::RedisTls,
    /// Namespace to watch; all when `None`.
    pub namespace: Option<String>,
    /// How long the finalizer tries to clean Redis before letting deletion proceed.
    pub cleanup_budget: Duration,
    /// Requeue interval of a settled set (status refresh from heartbeats).
    pub resync: Duration,
    /// Requeue interval while a drain runs.
    pub drain_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_redis_url: None,
            defaults: Defaults::default(),
            redis_tls: roomshard_runtime::redis::RedisTls::default(),
            namespace: None,
            cleanup_budget: Duration::from_secs(10),
            resync: Duration::from_secs(30),
            drain_poll: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_and_controller_settings_follow_the_flags() {
        let cli = Cli::try_parse_from([
            "roomshard-operator",
            "--pod-namespace",
            "ops",
            "--lease-duration-seconds",
            "4",
            "--lease-grace-seconds",
            "9",
            "--resync-seconds",
            "0",
        ])
        .expect("parses");
        let lease = cli.lease("me".into());
        assert_eq!(lease.namespace, "ops");
        assert_eq!(lease.name, "roomshard-operator");
        // The grace stays below the duration, so the leader renews before expiry.
        assert_eq!(lease.grace, Duration::from_secs(3));
        let config = cli.controller();
        assert_eq!(config.resync, Duration::from_secs(1));
        assert_eq!(config.drain_poll, Duration::from_secs(2));
        assert_eq!(config.cleanup_budget, Duration::from_secs(10));
    }

    #[test]
    fn default_resources_are_json_or_refused() {
        let cli = Cli::try_parse_from([
            "roomshard-operator",
            "--default-resources",
            r#"{"requests":{"cpu":"100m"},"limits":{"memory":"512Mi"}}"#,
        ])
        .expect("parses");
        let r = cli.controller().defaults.resources.expect("set");
        assert!(r.requests.is_some_and(|q| q.contains_key("cpu")));
        let bad = Cli::try_parse_from(["roomshard-operator", "--default-resources", "cpu=1"]);
        let msg = bad.expect_err("not JSON").to_string();
        assert!(
            msg.contains("DEFAULT_RESOURCES must be a JSON object"),
            "{msg}"
        );
        let auth = |json: &str| {
            Cli::try_parse_from(["roomshard-operator", "--default-matchmaker-auth", json])
                .map(|c| c.controller().defaults.matchmaker_auth)
                .map_err(|e| e.to_string())
        };
        let jwt = auth(r#"{"mode":"jwt","jwksUrl":"https://id.example/jwks.json"}"#);
        assert_eq!(jwt.expect("valid").expect("set").mode, "jwt");
        let keyless = auth(r#"{"mode":"jwt"}"#).expect_err("no key");
        assert!(
            keyless.contains("needs hs256Secret or jwksUrl"),
            "{keyless}"
        );
    }

    #[test]
    fn default_hooks_are_checked_as_a_sets_own() {
        let hooks = |json: &str| {
            Cli::try_parse_from(["roomshard-operator", "--default-hooks", json])
                .map(|c| c.controller().defaults.hooks)
                .map_err(|e| e.to_string())
        };
        let ok = hooks(r#"{"onJoin":{"url":"http://backend.games:8080/join","timeoutMs":500}}"#);
        let ok = ok.expect("valid").expect("set");
        assert_eq!(
            ok.on_join.map(|h| h.url),
            Some("http://backend.games:8080/join".to_owned())
        );
        let bad = hooks(r#"{"onJoin":{"url":"ftp://backend/join"}}"#).expect_err("not http");
        assert!(bad.contains("DEFAULT_HOOKS: spec.hooks.onJoin"), "{bad}");
        let garbage = hooks("onJoin=x").expect_err("not JSON");
        assert!(
            garbage.contains("DEFAULT_HOOKS must be a spec.hooks object"),
            "{garbage}"
        );
        let none = Cli::try_parse_from(["roomshard-operator"]).expect("parses");
        assert!(none.controller().defaults.hooks.is_none());
    }

    #[test]
    fn ops_port_wins_over_its_older_name() {
        let cli =
            Cli::try_parse_from(["roomshard-operator", "--metrics-port", "7000"]).expect("parses");
        assert_eq!(cli.metrics_addr().port(), 7000);
        let cli = Cli::try_parse_from([
            "roomshard-operator",
            "--metrics-port",
            "7000",
            "--ops-port",
            "9091",
        ])
        .expect("parses");
        assert_eq!(cli.metrics_addr().port(), 9091);
    }
}
