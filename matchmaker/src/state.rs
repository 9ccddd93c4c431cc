//! What every handler shares, built once from the [`Config`].

use crate::auth::Auth;
use crate::config::Config;
use crate::limits::FrontDoor;
use crate::metrics::Metrics;
use crate::placement::Defaults;
use crate::reserve::Caps;
use crate::shard_view::{PublicUrls, ShardViews};
use crate::store::Store;
use roomshard_protocol::Keys;
use roomshard_protocol::records::Capacity;
use roomshard_protocol::token::TokenKey;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone (every field is shared).
#[derive(Clone)]
pub struct AppState {
    /// The Redis boundary.
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// Signs the token of every granted seat.
    pub token_key: Arc<TokenKey>,
    /// Lifetime of a reservation, in milliseconds.
    pub reservation_ttl_ms: u64,
    /// The shards as last read, and the turn of whoever reads them again.
    pub shards: Arc<ShardViews>,
    /// Who is calling.
    pub auth: Arc<Auth>,
    /// Rate limits, the track allowlist, trusted proxies and CORS origins.
    pub front: Arc<FrontDoor>,
    /// The caps the reserve script enforces.
    pub caps: Caps,
    /// The public URL starts with `{origin}`: each reservation's comes from its request's host.
    pub urls_from_host: bool,
}

/// Why the configuration cannot start a matchmaker.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("ROOMSHARD_SET or ROOMSHARD_NAMESPACE is invalid: {0}")]
    Set(String),
    #[error("ROOMSHARD_TOKEN_SECRET is invalid: {0}")]
    TokenSecret(String),
    #[error("REDIS_URL: {0}")]
    RedisUrl(#[from] roomshard_runtime::redis::RedisError),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Limits(String),
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl AppState {
    /// Checks the configuration and starts connecting to Redis in the background.
    pub fn new(config: &Config) -> Result<Self, StartError> {
        let auth =
            Auth::from_args(&config.auth, config.loopback_only()).map_err(StartError::Auth)?;
        let front = FrontDoor::from_args(&config.limits).map_err(StartError::Limits)?;
        let namespace = config.namespace.as_deref().filter(|n| !n.is_empty());
        let keys =
            Keys::scoped(namespace, &config.set).map_err(|e| StartError::Set(e.to_string()))?;
        let token_key = TokenKey::new(config.token_secret.as_bytes().to_vec())
            .map_err(|e| StartError::TokenSecret(e.to_string()))?;
        let store = Arc::new(Store::connect(
            &config.redis_url,
            keys,
            config.redis_timeout(),
            &config.redis_tls,
        )?);
        let metrics = Arc::new(Metrics::new()?);
        let defaults = Defaults {
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            capacity: Capacity {
                rooms_per_shard: config.rooms_per_shard,
                players_per_room: config.room_capacity,
            },
        };
        let urls_from_host = config.public_url.needs_origin();
        let urls = PublicUrls {
            template: config.public_url.clone(),
            worker_base_port: config.worker_base_port,
        };
        let shards = Arc::new(ShardViews::new(
            store.clone(),
            metrics.clone(),
            defaults,
            urls,
        ));
        Ok(Self {
            store,
            metrics,
            token_key: Arc::new(token_key),
            reservation_ttl_ms: config.reservation_ttl_ms,
            shards,
            auth: Arc::new(auth),
            front: Arc::new(front),
            caps: Caps {
                player: config.limits.max_reservations_per_player,
                track_rooms: config.limits.max_rooms_per_track,
            },
            urls_from_host,
        })
    }
}
