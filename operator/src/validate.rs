//! Checks a RoomShardSet before anything is built from it.
//!
//! The CRD schema refuses most bad specs at the API server; this re-checks what the
//! controller depends on (an older CRD may still be installed) and resolves what the
//! schema cannot know, such as the operator's default Redis URL. Pure: no client.

use crate::crd::{RoomShardSet, RoomShardSetSpec};
use roomshard_protocol::{Keys, MAX_SHARDS, UrlTemplate};

mod game;
mod hooks;

pub use hooks::check_default_hooks;

/// Where a set's Redis URL comes from. Its `Debug` form hides a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisSource {
    /// A literal URL (from the spec or the operator's default); the pods read it from the
    /// set's own Secret.
    Url(String),
    /// A key of a Secret in the set's namespace.
    Secret { name: String, key: String },
}

impl std::fmt::Debug for RedisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisSource::Url(url) => f
                .debug_tuple("Url")
                .field(&roomshard_runtime::redact::redact_url(url))
                .finish(),
            RedisSource::Secret { name, key } => f
                .debug_struct("Secret")
                .field("name", name)
                .field("key", key)
                .finish(),
        }
    }
}

/// A set whose spec passed every check, with what was derived from it.
#[derive(Debug, Clone)]
pub struct ValidSet {
    pub name: String,
    pub namespace: String,
    pub shards: u32,
    pub keys: Keys,
    pub redis: RedisSource,
    pub public_url: String,
    /// `spec.events` as the workers' `EVENTS` (a JSON array); None when there are none.
    pub events: Option<String>,
    /// `spec.hooks` as the workers' `HOOKS` (a JSON object); None when there are none.
    pub hooks: Option<String>,
}

/// Why a spec cannot be reconciled. The text is shown in the set's conditions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

/// Validates `set`; `default_redis` is the operator's own REDIS_URL.
pub fn validate(set: &RoomShardSet, default_redis: Option<&str>) -> Result<ValidSet, SpecError> {
    let name = set
        .metadata
        .name
        .clone()
        .ok_or_else(|| SpecError("the set has no metadata.name".into()))?;
    let namespace = set
        .metadata
        .namespace
        .clone()
        .ok_or_else(|| SpecError("the set has no metadata.namespace".into()))?;
    // Sets of one name in two namespaces never share a key.
    let keys = Keys::scoped(Some(&namespace), &name).map_err(|e| {
        SpecError(format!(
            "the set's name and namespace cannot scope Redis keys: {e}"
        ))
    })?;
    let spec = &set.spec;
    let shards = check_shards(spec.shards)?;
    if spec.image.trim().is_empty() {
        return Err(SpecError("spec.image must name a container image".into()));
    }
    let port = spec.port();
    if !(1..=65535).contains(&port) {
        return Err(SpecError(format!(
            "spec.port {port} is not a TCP port (1..=65535)"
        )));
    }
    if port == crate::crd::OPS_PORT {
        return Err(SpecError(format!(
            "spec.port {port} is the workers' ops port; choose another"
        )));
    }
    if let Some(hb) = spec.heartbeat_interval_seconds
        && !(1..=60).contains(&hb)
    {
        return Err(SpecError(format!(
            "spec.heartbeatIntervalSeconds {hb} must be between 1 and 60"
        )));
    }
    if spec.drain_timeout_seconds() < 0 {
        return Err(SpecError(
            "spec.drain.timeoutSeconds must not be negative".into(),
        ));
    }
    if let Some(r) = spec.resume {
        if let Some(w) = r.window_seconds
            && !(0..=3600).contains(&w)
        {
            return Err(SpecError(format!(
                "spec.resume.windowSeconds {w} must be between 0 and 3600"
            )));
        }
        if let Some(b) = r.buffer_events
            && !(0..=65536).contains(&b)
        {
            return Err(SpecError(format!(
                "spec.resume.bufferEvents {b} must be between 0 and 65536"
            )));
        }
    }
    if let Some(edge) = &spec.edge {
        check_edge(edge)?;
    }
    if let Some(c) = spec.capacity
        && (c.rooms_per_shard < 1 || c.players_per_room < 1)
    {
        return Err(SpecError(
            "spec.capacity.roomsPerShard and playersPerRoom must be at least 1".into(),
        ));
    }
    if let Some(auth) = spec.matchmaker.as_ref().and_then(|m| m.auth.as_ref()) {
        check_auth(auth)?;
    }
    let hooks = hooks::check_hooks(spec.hooks.as_ref())?;
    let server_hook = spec.hooks.as_ref().is_some_and(|h| h.on_event.is_some());
    let events = game::check_events(&spec.events, server_hook)?;
    game::check_entity_state(spec.entity_state)?;
    let redis = redis_source(spec, default_redis)?;
    let public_url = match &spec.public_url {
        Some(url) => UrlTemplate::parse(url)
            .and_then(UrlTemplate::require_shard)
            .map_err(|e| SpecError(format!("spec.publicUrl {e}")))?
            .to_string(),
        None => default_public_url(spec, &name, &namespace, port),
    };
    Ok(ValidSet {
        name,
        namespace,
        shards,
        keys,
        redis,
        public_url,
        events,
        hooks,
    })
}

/// `spec.matchmaker.auth`: a known mode list, and the settings each mode needs.
pub(crate) fn check_auth(auth: &crate::crd::MatchmakerAuthSpec) -> Result<(), SpecError> {
    let modes: Vec<&str> = auth.mode.split(',').map(str::trim).collect();
    if let Some(bad) = modes
        .iter()
        .find(|m| !matches!(**m, "jwt" | "api-key" | "none"))
    {
        return Err(SpecError(format!(
            "spec.matchmaker.auth.mode: {bad:?} is not jwt, api-key or none"
        )));
    }
    if modes.contains(&"jwt") && auth.hs256_secret.is_none() && auth.jwks_url.is_none() {
        return Err(SpecError(
            "spec.matchmaker.auth: mode jwt needs hs256Secret or jwksUrl".into(),
        ));
    }
    if modes.contains(&"api-key") && auth.api_keys.is_none() {
        return Err(SpecError(
            "spec.matchmaker.auth: mode api-key needs apiKeys".into(),
        ));
    }
    if let Some(url) = &auth.jwks_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(SpecError(
            "spec.matchmaker.auth.jwksUrl must be an http or https URL".into(),
        ));
    }
    Ok(())
}

fn check_shards(shards: i32) -> Result<u32, SpecError> {
    match u32::try_from(shards) {
        Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(n),
        _ => Err(SpecError(format!(
            "spec.shards {shards} must be between 1 and {MAX_SHARDS}"
        ))),
    }
}

fn redis_source(
    spec: &RoomShardSetSpec,
    default_redis: Option<&str>,
) -> Result<RedisSource, SpecError> {
    let redis = spec.redis.clone().unwrap_or_default();
    match (redis.url, redis.secret_ref, default_redis) {
        (Some(_), Some(_), _) => Err(SpecError(
            "spec.redis takes either url or secretRef, not both".into(),
        )),
        (Some(url), None, _) if url.trim().is_empty() => {
            Err(SpecError("spec.redis.url must not be empty".into()))
        }
        (Some(url), None, _) => Ok(RedisSource::Url(url)),
        (None, Some(s), _) if s.name.is_empty() || s.key.is_empty() => Err(SpecError(
            "spec.redis.secretRef needs both name and key".into(),
        )),
        (None, Some(s), _) => Ok(RedisSource::Secret {
            name: s.name,
            key: s.key,
        }),
        (None, None, Some(url)) if !url.is_empty() => Ok(RedisSource::Url(url.to_owned())),
        (None, None, _) => Err(SpecError(
            "no Redis configured: set spec.redis.url or spec.redis.secretRef, or start the operator with REDIS_URL".into(),
        )),
    }
}

/// The URL a player is handed when the spec names none: through the set's Ingress (on its
/// host, or on whatever host the client reached the matchmaker at), else the shard's own
/// Service, which only clients inside the cluster reach.
pub fn default_public_url(
    spec: &crate::crd::RoomShardSetSpec,
    name: &str,
    namespace: &str,
    port: i32,
) -> String {
    match spec.ingress() {
        Some(ingress) => {
            let scheme = if ingress.tls_secret_name.is_some() {
                "wss"
            } else {
                "ws"
            };
            match &ingress.host {
                Some(host) => format!("{scheme}://{host}/shard/{{shard}}"),
                None => "{origin}/shard/{shard}".to_owned(),
            }
        }
        None => format!("ws://{name}-shard-{{shard}}.{namespace}.svc:{port}"),
    }
}

/// The client-port limits: in range, and origins a browser would send.
fn check_edge(edge: &crate::crd::EdgeSpec) -> Result<(), SpecError> {
    let ranges = [
        ("maxConnections", edge.max_connections, 1..=1_000_000),
        (
            "maxConnectionsPerIp",
            edge.max_connections_per_ip,
            0..=1_000_000,
        ),
        ("joinTimeoutSeconds", edge.join_timeout_seconds, 1..=3600),
    ];
    for (name, v, range) in ranges {
        if let Some(v) = v
            && !range.contains(&v)
        {
            return Err(SpecError(format!(
                "spec.edge.{name} {v} must be between {} and {}",
                range.start(),
                range.end()
            )));
        }
    }
    for o in &edge.allowed_origins {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
            .unwrap_or("");
        if rest.is_empty() || rest.contains(['/', ',', ' ']) {
            return Err(SpecError(format!(
                "spec.edge.allowedOrigins entry {o:?} must be scheme://host[:port]"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{RedisSpec, SecretKeyRef};

    #[test]
    fn a_redis_url_in_debug_output_has_no_password() {
        let source = RedisSource::Url("redis://app:topsecret@redis:6379".into());
        let shown = format!("{source:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(shown.contains("redis:6379"), "{shown}");
    }

    /// A set named `game` in namespace `ns` with `spec`.
    pub(super) fn set(spec: serde_json::Value) -> RoomShardSet {
        let mut s = RoomShardSet::new(
            "game",
            serde_json::from_value(spec).expect("spec deserializes"),
        );
        s.metadata.namespace = Some("ns".into());
        s
    }

    #[test]
    fn minimal_spec_uses_defaults() {
        let v = validate(
            &set(serde_json::json!({"shards": 4, "image": "img"})),
            Some("redis://r:6379"),
        )
        .expect("valid");
        assert_eq!(v.shards, 4);
        assert_eq!(v.redis, RedisSource::Url("redis://r:6379".into()));
        assert_eq!(
            v.public_url, "{origin}/shard/{shard}",
            "through the Ingress"
        );
        assert_eq!(v.keys.shard(1), "roomshard:{ns/game}:shard:1");
    }

    #[test]
    fn the_default_url_follows_the_ingress() {
        let url = |ingress: serde_json::Value| {
            validate(
                &set(serde_json::json!({"shards": 1, "image": "i", "ingress": ingress})),
                Some("redis://r:6379"),
            )
            .expect("valid")
            .public_url
        };
        assert_eq!(
            url(serde_json::json!({"host": "play.example.com"})),
            "ws://play.example.com/shard/{shard}"
        );
        assert_eq!(
            url(serde_json::json!({"host": "play.example.com", "tlsSecretName": "tls"})),
            "wss://play.example.com/shard/{shard}"
        );
        assert_eq!(
            url(serde_json::json!({"enabled": false})),
            "ws://game-shard-{shard}.ns.svc:3000",
            "without an Ingress, the shard's Service in the cluster"
        );
    }

    #[test]
    fn auth_modes_need_their_settings() {
        let check = |auth: serde_json::Value| {
            validate(
                &set(serde_json::json!({"shards": 1, "image": "i", "matchmaker": {"auth": auth}})),
                Some("redis://r"),
            )
            .map(|_| ())
            .map_err(|e| e.0)
        };
        assert!(check(serde_json::json!({"mode": "none"})).is_ok());
        let hs = serde_json::json!({"name": "s", "key": "k"});
        assert!(check(serde_json::json!({"mode": "jwt", "hs256Secret": hs})).is_ok());
        for (auth, needle) in [
            (serde_json::json!({"mode": "basic"}), "auth.mode"),
            (serde_json::json!({"mode": "jwt"}), "hs256Secret or jwksUrl"),
            (serde_json::json!({"mode": "none,api-key"}), "apiKeys"),
            (
                serde_json::json!({"mode": "jwt", "jwksUrl": "file:///k"}),
                "jwksUrl",
            ),
        ] {
            let err = check(auth.clone()).expect_err("refused");
            assert!(err.contains(needle), "{auth}: {err}");
        }
    }

    #[test]
    fn bad_specs_get_clear_errors() {
        let cases = [
            (
                serde_json::json!({"shards": 0, "image": "i"}),
                "spec.shards 0",
            ),
            (
                serde_json::json!({"shards": 5000, "image": "i"}),
                "spec.shards 5000",
            ),
            (serde_json::json!({"shards": 1, "image": " "}), "spec.image"),
            (
                serde_json::json!({"shards": 1, "image": "i", "publicUrl": "wss://x/"}),
                "{shard}",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "port": 0}),
                "spec.port",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "port": 9090}),
                "ops port",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "edge": {"joinTimeoutSeconds": 0}}),
                "spec.edge.joinTimeoutSeconds",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "edge": {"allowedOrigins": ["evil.example/x"]}}),
                "spec.edge.allowedOrigins",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "heartbeatIntervalSeconds": 0}),
                "heartbeatIntervalSeconds",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "resume": {"windowSeconds": 7200}}),
                "spec.resume.windowSeconds",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "resume": {"bufferEvents": -1}}),
                "spec.resume.bufferEvents",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "events": [{"name": "move", "scope": "room"}]}),
                "built-in",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "events": [{"name": "x", "scope": "server"}]}),
                "no onEvent hook",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "events": [{"name": "x", "scope": "room", "maxBytes": 20000}]}),
                "spec.events[0]",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "events": [{"name": "x", "scope": "room", "perSecond": -1}]}),
                "perSecond",
            ),
            (
                serde_json::json!({"shards": 1, "image": "i", "events": [{"name": "x", "scope": "room"}, {"name": "x", "scope": "nearby"}]}),
                "twice",
            ),
        ];
        for (spec, needle) in cases {
            let err = validate(&set(spec.clone()), Some("redis://r")).expect_err("invalid");
            assert!(err.0.contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn redis_source_choice() {
        let mut s = set(serde_json::json!({"shards": 1, "image": "i"}));
        let err = validate(&s, None).expect_err("no redis anywhere");
        assert!(err.0.contains("REDIS_URL"), "{err}");
        s.spec.redis = Some(RedisSpec {
            tls: None,
            url: None,
            secret_ref: Some(SecretKeyRef {
                name: "r".into(),
                key: "url".into(),
            }),
        });
        assert_eq!(
            validate(&s, None).expect("secret").redis,
            RedisSource::Secret {
                name: "r".into(),
                key: "url".into()
            }
        );
        s.spec.redis = Some(RedisSpec {
            tls: None,
            url: Some("redis://own".into()),
            secret_ref: Some(SecretKeyRef {
                name: "r".into(),
                key: "url".into(),
            }),
        });
        assert!(validate(&s, None).expect_err("both").0.contains("not both"));
    }

    #[test]
    fn set_name_must_fit_redis_keys() {
        let mut s = set(serde_json::json!({"shards": 1, "image": "i"}));
        s.metadata.name = Some("x".repeat(70));
        assert!(validate(&s, Some("redis://r")).is_err());
    }
}
