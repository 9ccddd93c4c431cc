//! The flags of caller authentication, flattened into [`crate::Config`].

use clap::Args;
use std::path::PathBuf;

/// Who may call `/reserve` and `/rooms`.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// How callers prove who they are: `jwt`, `api-key` or `none`, or a comma list such as
    /// `jwt,api-key`. Required when the matchmaker listens beyond loopback (BIND); a
    /// loopback-only run defaults to `none` and says so in its log.
    #[arg(long, env = "AUTH_MODE")]
    pub auth_mode: Option<String>,

    /// Shared secret of HS256 bearer tokens (at least 32 bytes).
    #[arg(long, env = "AUTH_JWT_HS256_SECRET", hide_env_values = true)]
    pub auth_jwt_hs256_secret: Option<String>,

    /// JSON Web Key Set file with the RS256 and ES256 public keys of bearer tokens.
    #[arg(long, env = "AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<PathBuf>,

    /// URL (http or https) of the JSON Web Key Set with the RS256 and ES256 public keys.
    #[arg(long, env = "AUTH_JWKS_URL")]
    pub auth_jwks_url: Option<String>,

    /// Seconds between two reloads of the key set (it is also reloaded when a token names
    /// an unknown `kid`, at most once per AUTH_JWKS_MIN_REFRESH_SECONDS).
    #[arg(long, env = "AUTH_JWKS_REFRESH_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_jwks_refresh_seconds: u64,

    /// Fewest seconds between two reloads of the key set, whatever tokens arrive.
    #[arg(long, env = "AUTH_JWKS_MIN_REFRESH_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_jwks_min_refresh_seconds: u64,

    /// The `iss` every bearer token must carry.
    #[arg(long, env = "AUTH_JWT_ISSUER")]
    pub auth_jwt_issuer: Option<String>,

    /// The `aud` every bearer token must carry.
    #[arg(long, env = "AUTH_JWT_AUDIENCE")]
    pub auth_jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[arg(long, env = "AUTH_JWT_LEEWAY_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub auth_jwt_leeway_seconds: u64,

    /// API keys of game backends, comma-separated (sent as `X-Api-Key`).
    #[arg(long, env = "AUTH_API_KEYS", hide_env_values = true)]
    pub auth_api_keys: Option<String>,

    /// File with API keys, one a line (blank lines and `#` comments skipped).
    #[arg(long, env = "AUTH_API_KEYS_FILE")]
    pub auth_api_keys_file: Option<PathBuf>,
}

/// The abuse limits of the front door.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Reservations per second one client IP may ask for, on average (0 turns it off).
    #[arg(long, env = "RESERVE_RATE_PER_IP", default_value_t = 20.0)]
    pub reserve_rate_per_ip: f64,

    /// Reservations one client IP may ask for in a burst.
    #[arg(long, env = "RESERVE_BURST_PER_IP", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub reserve_burst_per_ip: u32,

    /// Reservations per second one player may ask for, on average (0 turns it off).
    #[arg(long, env = "RESERVE_RATE_PER_PLAYER", default_value_t = 2.0)]
    pub reserve_rate_per_player: f64,

    /// Reservations one player may ask for in a burst.
    #[arg(long, env = "RESERVE_BURST_PER_PLAYER", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub reserve_burst_per_player: u32,

    /// Unexpired reservations one player may hold at once (0 turns it off).
    #[arg(long, env = "MAX_RESERVATIONS_PER_PLAYER", default_value_t = 5)]
    pub max_reservations_per_player: u32,

    /// Rooms one track may have (0 turns it off).
    #[arg(long, env = "MAX_ROOMS_PER_TRACK", default_value_t = 1_000)]
    pub max_rooms_per_track: u32,

    /// Tracks that may be reserved, comma-separated; empty allows every valid name.
    #[arg(long, env = "ALLOWED_TRACKS", default_value = "")]
    pub allowed_tracks: String,

    /// Peers (IPs or CIDRs, comma-separated) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Origins that browsers may call the API from, comma-separated; empty allows none.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "")]
    pub cors_allowed_origins: String,
}

/// The items of a comma list, trimmed, empty ones dropped.
pub fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
