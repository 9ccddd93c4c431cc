//! Command-line flags with environment fallbacks, and their validation.

use clap::Parser;
use roomshard_protocol::{DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_SET, Keys, ShardId, UrlTemplate};
use std::time::Duration;

mod game;
mod shard;

pub use game::{GameArgs, GameConfig, GameEvents};
pub use shard::resolve_shard;

/// The worker's settings. Every flag falls back to the environment variable of the same
/// name; worker/README.md documents each.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "roomshard-worker",
    version,
    about = "Roomshard Socket.IO worker shard"
)]
pub struct Cli {
    /// This worker's shard, `<index>/<total>`. Required with REDIS_URL; 0/1 otherwise.
    #[arg(long, env = "ROOM_SHARD")]
    pub room_shard: Option<String>,
    /// Alternative to ROOM_SHARD: the index alone (the operator sets it from the pod index).
    #[arg(long, env = "ROOM_SHARD_INDEX")]
    pub room_shard_index: Option<String>,
    /// Alternative to ROOM_SHARD: the shard count.
    #[arg(long, env = "ROOM_SHARD_TOTAL")]
    pub room_shard_total: Option<String>,
    /// TCP port for Socket.IO (and, without OPS_PORT, the ops routes and the demo page).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// TCP port for /healthz, /readyz, /metrics and the demo page, apart from the client
    /// port, which then serves Socket.IO alone. Unset: everything on PORT (a local run).
    #[arg(long, env = "OPS_PORT")]
    pub ops_port: Option<u16>,
    /// Client connections open at once, at most; more are closed as they arrive.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: u32,
    /// Client connections one IP address may hold open at once (0: no limit).
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,
    /// Milliseconds a Socket.IO connection may stay without joining (or resuming) before
    /// it is closed.
    #[arg(long, env = "JOIN_TIMEOUT_MS", default_value_t = 30_000)]
    pub join_timeout_ms: u64,
    /// Origins browsers may open Socket.IO connections from, comma-separated (such as
    /// `https://play.example.com`). Empty: any. A request without an Origin header (not
    /// a browser) is not checked.
    #[arg(
        long,
        env = "ALLOWED_ORIGINS",
        default_value = "",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Address to bind.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind_address: std::net::IpAddr,
    /// Redis URL (redis://, rediss://, or redis-cluster://host:port?node=host:port for a
    /// Redis Cluster); without it the worker runs alone on the in-process adapter. Its value
    /// is never shown: it may carry a password.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// CA and client certificate for a `rediss://` REDIS_URL.
    #[command(flatten)]
    pub redis_tls: roomshard_runtime::redis::RedisTls,
    /// Name of the RoomShardSet; every Redis key is scoped by it.
    #[arg(long, env = "ROOMSHARD_SET", default_value = DEFAULT_SET)]
    pub roomshard_set: String,
    /// Namespace of the RoomShardSet, added to the key scope (`roomshard:{NS/SET}:`);
    /// unset or empty: `roomshard:{SET}:`. The operator sets it.
    #[arg(long, env = "ROOMSHARD_NAMESPACE")]
    pub roomshard_namespace: Option<String>,
    /// The URL clients use to reach this shard, published in the heartbeat: a template
    /// whose `{shard}` (the index), `{pod}` and `{port}` (the port listened on) are filled
    /// in. The operator hands every pod the set's one template, and the matchmaker gives
    /// clients the URL a worker publishes as it is.
    #[arg(long, env = "PUBLIC_URL", default_value = "")]
    pub public_url: String,
    /// Milliseconds between two heartbeats.
    #[arg(long, env = "HEARTBEAT_INTERVAL_MS", default_value_t = DEFAULT_HEARTBEAT_INTERVAL_MS)]
    pub heartbeat_interval_ms: u64,
    /// Pod name, published in the heartbeat.
    #[arg(long, env = "POD_NAME", default_value = "")]
    pub pod_name: String,
    /// HMAC key shared with the matchmaker (at least 16 bytes).
    #[arg(long, env = "ROOMSHARD_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,
    /// Whether a join needs a reservation token. Default: on when REDIS_URL and a secret
    /// are both set, off otherwise.
    #[arg(long, env = "ROOMSHARD_REQUIRE_TOKEN")]
    pub require_token: Option<bool>,
    /// The matchmaker's bearer JWT keys: a seat reserved by a JWT is taken only by a join
    /// whose `identity` is a JWT for the same `sub`.
    #[command(flatten)]
    pub jwt: roomshard_runtime::jwt::JwtArgs,
    /// World width; coordinates lie in 0..=width.
    #[arg(long, env = "WORLD_WIDTH", default_value_t = 1000.0)]
    pub world_width: f64,
    /// World height; coordinates lie in 0..=height.
    #[arg(long, env = "WORLD_HEIGHT", default_value_t = 1000.0)]
    pub world_height: f64,
    /// Area-of-interest radius: everything this close to a player is in its view.
    #[arg(long, env = "AOI_RADIUS", default_value_t = 100.0)]
    pub aoi_radius: f64,
    /// Grid cells per radius (1 to 4): cells of side AOI_RADIUS/AOI_CELLS, and a player
    /// sees the (2·AOI_CELLS + 1)² cells around it.
    #[arg(long, env = "AOI_CELLS", default_value_t = 2)]
    pub aoi_cells: i32,
    /// View batches per second.
    #[arg(long, env = "TICK_HZ", default_value_t = 20)]
    pub tick_hz: u32,
    /// Seats of a room this worker creates (dev joins) or reports as its capacity.
    #[arg(long, env = "ROOM_CAPACITY", default_value_t = 16)]
    pub room_capacity: u32,
    /// Rooms this shard offers, published in the heartbeat for the matchmaker.
    #[arg(long, env = "ROOMS_PER_SHARD", default_value_t = 100)]
    pub rooms_per_shard: u32,
    /// Track recorded for rooms created by a join without a reservation.
    #[arg(long, env = "DEFAULT_TRACK", default_value = "default")]
    pub default_track: String,
    /// Milliseconds an empty room is kept before it leaves the registry.
    #[arg(long, env = "ROOM_EMPTY_GRACE_MS", default_value_t = 10_000)]
    pub room_empty_grace_ms: u64,
    /// Milliseconds a dropped player keeps its seat, entity and id for a `resume`; 0
    /// frees the seat at once.
    #[arg(long, env = "RESUME_WINDOW_MS", default_value_t = 60_000)]
    pub resume_window_ms: u64,
    /// Milliseconds between two Engine.IO pings; with PING_TIMEOUT_MS, how soon a
    /// connection that dropped without closing is noticed (and its player held for its
    /// resume window).
    #[arg(long, env = "PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,
    /// Milliseconds a client has to answer a ping.
    #[arg(long, env = "PING_TIMEOUT_MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,
    /// Room events (chat, presence) each hosted room keeps for resumes to replay.
    #[arg(long, env = "RESUME_BUFFER_EVENTS", default_value_t = 256)]
    pub resume_buffer_events: usize,
    /// Largest Socket.IO message accepted, in bytes, on WebSocket and on polling.
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = 16 * 1024)]
    pub max_message_bytes: u32,
    /// Longest `say` text, in characters.
    #[arg(long, env = "MAX_SAY_CHARS", default_value_t = 280)]
    pub max_say_chars: usize,
    /// Longest player name, in characters.
    #[arg(long, env = "MAX_NAME_CHARS", default_value_t = 32)]
    pub max_name_chars: usize,
    /// The game's custom events.
    #[command(flatten)]
    pub game: GameArgs,
    /// Events a socket may send in a burst.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 60)]
    pub rate_limit_burst: u32,
    /// Events per second a socket may sustain.
    #[arg(long, env = "RATE_LIMIT_PER_SEC", default_value_t = 40)]
    pub rate_limit_per_sec: u32,
    /// Refused events (decaying at RATE_LIMIT_PER_SEC/4 a second) after which a socket is
    /// disconnected.
    #[arg(long, env = "RATE_LIMIT_DISCONNECT_AFTER", default_value_t = 200)]
    pub rate_limit_disconnect_after: u32,
    /// Kernel send buffer of each client connection, in bytes (the kernel doubles it); 0
    /// keeps the system's autotuned buffer, which grows to megabytes for a client that
    /// stops reading.
    #[arg(long, env = "SEND_BUFFER_BYTES", default_value_t = 128 * 1024)]
    pub send_buffer_bytes: u32,
    /// Milliseconds a connection's writes may make no progress (a client that stopped
    /// reading) before the connection is closed; 0 for no limit.
    #[arg(long, env = "WRITE_STALL_TIMEOUT_MS", default_value_t = 10_000)]
    pub write_stall_timeout_ms: u64,
    /// Milliseconds a draining worker waits for its clients to leave before closing them.
    #[arg(long, env = "DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,
    /// Deadline of one Redis command, in milliseconds.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 1_000)]
    pub redis_timeout_ms: u64,
    /// Threads serving connections and ticks; 0 uses one per CPU the process may use (its
    /// cgroup's CPU limit counts). Shards on a shared host do best with 1 each.
    #[arg(long, env = "WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,
}

/// Longest resume window: an hour. Seats held longer than that are not "a blip".
const MAX_RESUME_WINDOW_MS: u64 = 3_600_000;
/// Most room events kept per room for resumes.
const MAX_RESUME_BUFFER_EVENTS: usize = 65_536;

/// More threads than this is a typo, not a machine.
const MAX_WORKER_THREADS: usize = 1024;

/// Settings after validation.
#[derive(Debug, Clone)]
pub struct Config {
    pub shard: ShardId,
    pub bind: std::net::SocketAddr,
    /// Where the ops routes are served apart; None: on `bind`.
    pub ops_bind: Option<std::net::SocketAddr>,
    pub edge: EdgeConfig,
    pub redis_url: Option<String>,
    pub redis_tls: roomshard_runtime::redis::RedisTls,
    pub keys: Keys,
    pub public_url: String,
    pub heartbeat_interval: Duration,
    pub pod_name: String,
    pub token_key: Option<roomshard_protocol::token::TokenKey>,
    pub require_token: bool,
    /// Checks the `identity` of joins to bound seats; None: no keys configured.
    pub identity: Option<std::sync::Arc<roomshard_runtime::jwt::JwtVerifier>>,
    pub world: WorldConfig,
    pub room_capacity: u32,
    pub rooms_per_shard: u32,
    pub default_track: String,
    pub room_empty_grace: Duration,
    pub resume: ResumeConfig,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub limits: Limits,
    /// What the game adds to the protocol.
    pub game: GameConfig,
    pub drain_timeout: Duration,
    pub redis_timeout: Duration,
    /// `None`: one per available CPU.
    pub worker_threads: Option<usize>,
}

/// What the client port lets in.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    pub max_connections: u32,
    /// 0: no limit.
    pub max_connections_per_ip: u32,
    pub join_timeout: Duration,
    /// Empty: any origin.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct ResumeConfig {
    /// How long a dropped player's seat is held; zero: not at all.
    pub window: Duration,
    /// Room events kept per room for replay.
    pub buffer_events: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct WorldConfig {
    pub width: f64,
    pub height: f64,
    pub radius: f64,
    /// Grid cells per radius: neighbourhoods of (2·reach + 1)² cells of side radius/reach.
    pub reach: i32,
    pub tick: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_bytes: u32,
    pub max_say_chars: usize,
    pub max_name_chars: usize,
    pub rate_burst: u32,
    pub rate_per_sec: u32,
    pub rate_disconnect_after: u32,
    /// Kernel send buffer of a client connection; 0 for the system default.
    pub send_buffer_bytes: u32,
    /// How long a connection's writes may be stuck before it is closed.
    pub write_stall_timeout: Option<Duration>,
}

/// The largest world side: positions travel as `f32`, which stays exact to well below a
/// unit up to here, and cannot hold a world much wider than `f32::MAX` at all.
pub const MAX_WORLD_SIDE: f64 = 1.0e7;

/// A world side: finite, above 0, at most [`MAX_WORLD_SIDE`].
fn world_side(name: &str, v: f64) -> Result<f64, String> {
    let v = positive(name, v)?;
    if v > MAX_WORLD_SIDE {
        return Err(format!("{name} must be at most {MAX_WORLD_SIDE}, got {v}"));
    }
    Ok(v)
}

fn positive(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} must be a finite number above 0, got {v}"))
    }
}

impl Cli {
    pub fn into_config(self) -> Result<Config, String> {
        let redis_url = self.redis_url.filter(|u| !u.trim().is_empty());
        let shard = resolve_shard(
            self.room_shard.as_deref().filter(|s| !s.is_empty()),
            self.room_shard_index.as_deref().filter(|s| !s.is_empty()),
            self.room_shard_total.as_deref().filter(|s| !s.is_empty()),
            redis_url.is_some(),
        )?;
        let keys = Keys::scoped(
            self.roomshard_namespace
                .as_deref()
                .filter(|n| !n.is_empty()),
            &self.roomshard_set,
        )
        .map_err(|e| format!("ROOMSHARD_SET or ROOMSHARD_NAMESPACE is invalid: {e}"))?;
        let token_key = match self.token_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => Some(
                roomshard_protocol::token::TokenKey::new(secret.as_bytes().to_vec())
                    .map_err(|e| format!("ROOMSHARD_TOKEN_SECRET is invalid: {e}"))?,
            ),
            None => None,
        };
        let require_token = self
            .require_token
            .unwrap_or(redis_url.is_some() && token_key.is_some());
        if require_token && token_key.is_none() {
            return Err("ROOMSHARD_REQUIRE_TOKEN=true needs ROOMSHARD_TOKEN_SECRET".into());
        }
        if require_token && redis_url.is_none() {
            return Err(
                "ROOMSHARD_REQUIRE_TOKEN=true needs REDIS_URL (reservations live in Redis)".into(),
            );
        }
        if self.heartbeat_interval_ms < 50 || self.heartbeat_interval_ms > 600_000 {
            return Err(format!(
                "HEARTBEAT_INTERVAL_MS must be between 50 and 600000, got {}",
                self.heartbeat_interval_ms
            ));
        }
        if !(1..=100).contains(&self.tick_hz) {
            return Err(format!(
                "TICK_HZ must be between 1 and 100, got {}",
                self.tick_hz
            ));
        }
        let width = world_side("WORLD_WIDTH", self.world_width)?;
        let height = world_side("WORLD_HEIGHT", self.world_height)?;
        let radius = positive("AOI_RADIUS", self.aoi_radius)?;
        if width / radius > 10_000.0 || height / radius > 10_000.0 {
            return Err(
                "WORLD_WIDTH/AOI_RADIUS and WORLD_HEIGHT/AOI_RADIUS must be at most 10000".into(),
            );
        }
        if !(1..=crate::grid::MAX_REACH).contains(&self.aoi_cells) {
            return Err(format!(
                "AOI_CELLS must be between 1 and {}, got {}",
                crate::grid::MAX_REACH,
                self.aoi_cells
            ));
        }
        let cells = f64::from(self.aoi_cells);
        if width / radius * cells > 20_000.0 || height / radius * cells > 20_000.0 {
            return Err(
                "the world may be at most 20000 cells a side (a cell is AOI_RADIUS/AOI_CELLS)"
                    .into(),
            );
        }
        if self.room_capacity == 0 {
            return Err("ROOM_CAPACITY must be at least 1".into());
        }
        if self.ops_port == Some(self.port) {
            return Err(format!(
                "OPS_PORT must differ from PORT ({}): the ops routes are kept off the client port",
                self.port
            ));
        }
        if self.max_connections == 0 {
            return Err("MAX_CONNECTIONS must be at least 1".into());
        }
        if !(100..=3_600_000).contains(&self.join_timeout_ms) {
            return Err(format!(
                "JOIN_TIMEOUT_MS must be between 100 and 3600000, got {}",
                self.join_timeout_ms
            ));
        }
        let allowed_origins = crate::origin::parse_allowlist(&self.allowed_origins)
            .map_err(|e| format!("ALLOWED_ORIGINS is invalid: {e}"))?;
        if self.resume_window_ms > MAX_RESUME_WINDOW_MS {
            return Err(format!(
                "RESUME_WINDOW_MS must be at most {MAX_RESUME_WINDOW_MS}, got {}",
                self.resume_window_ms
            ));
        }
        for (name, v) in [
            ("PING_INTERVAL_MS", self.ping_interval_ms),
            ("PING_TIMEOUT_MS", self.ping_timeout_ms),
        ] {
            if !(100..=600_000).contains(&v) {
                return Err(format!("{name} must be between 100 and 600000, got {v}"));
            }
        }
        if self.resume_buffer_events > MAX_RESUME_BUFFER_EVENTS {
            return Err(format!(
                "RESUME_BUFFER_EVENTS must be at most {MAX_RESUME_BUFFER_EVENTS}, got {}",
                self.resume_buffer_events
            ));
        }
        if self.max_message_bytes < 256 {
            return Err("MAX_MESSAGE_BYTES must be at least 256".into());
        }
        if self.rate_limit_burst == 0 || self.rate_limit_per_sec == 0 {
            return Err("RATE_LIMIT_BURST and RATE_LIMIT_PER_SEC must be at least 1".into());
        }
        roomshard_protocol::validate_track(&self.default_track)
            .map_err(|e| format!("DEFAULT_TRACK is invalid: {e}"))?;
        if self.worker_threads > MAX_WORKER_THREADS {
            return Err(format!(
                "WORKER_THREADS must be between 0 and {MAX_WORKER_THREADS}, got {}",
                self.worker_threads
            ));
        }
        let game = self.game.into_config(self.max_message_bytes)?;
        let public_url = UrlTemplate::parse(&self.public_url)
            .map_err(|e| format!("PUBLIC_URL is invalid: {e}"))?
            .render(shard.index(), &self.pod_name, u32::from(self.port));
        Ok(Config {
            shard,
            bind: std::net::SocketAddr::new(self.bind_address, self.port),
            ops_bind: self
                .ops_port
                .map(|p| std::net::SocketAddr::new(self.bind_address, p)),
            edge: EdgeConfig {
                max_connections: self.max_connections,
                max_connections_per_ip: self.max_connections_per_ip,
                join_timeout: Duration::from_millis(self.join_timeout_ms),
                allowed_origins,
            },
            redis_url,
            redis_tls: self.redis_tls,
            keys,
            public_url,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            pod_name: self.pod_name,
            token_key,
            require_token,
            identity: self.jwt.verifier()?.map(std::sync::Arc::new),
            world: WorldConfig {
                width,
                height,
                radius,
                reach: self.aoi_cells,
                tick: Duration::from_micros(1_000_000 / u64::from(self.tick_hz)),
            },
            room_capacity: self.room_capacity,
            rooms_per_shard: self.rooms_per_shard,
            default_track: self.default_track,
            room_empty_grace: Duration::from_millis(self.room_empty_grace_ms),
            resume: ResumeConfig {
                window: Duration::from_millis(self.resume_window_ms),
                buffer_events: self.resume_buffer_events,
            },
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms),
            limits: Limits {
                max_message_bytes: self.max_message_bytes,
                max_say_chars: self.max_say_chars.max(1),
                max_name_chars: self.max_name_chars.max(1),
                rate_burst: self.rate_limit_burst,
                rate_per_sec: self.rate_limit_per_sec,
                rate_disconnect_after: self.rate_limit_disconnect_after.max(1),
                send_buffer_bytes: self.send_buffer_bytes,
                write_stall_timeout: (self.write_stall_timeout_ms > 0)
                    .then(|| Duration::from_millis(self.write_stall_timeout_ms)),
            },
            game,
            drain_timeout: Duration::from_millis(self.drain_timeout_ms),
            redis_timeout: Duration::from_millis(self.redis_timeout_ms.max(10)),
            worker_threads: (self.worker_threads > 0).then_some(self.worker_threads),
        })
    }
}

#[cfg(test)]
mod tests;
