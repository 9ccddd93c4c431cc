//! The flags of caller authentication, flattened into [`crate::Config`].

use clap::Args;
use roomshard_runtime::jwt::JwtArgs;
use std::path::PathBuf;

/// Who may call `/reserve` and `/rooms`.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// How callers prove who they are: `jwt`, `api-key` or `none`, or a comma list such as
    /// `jwt,api-key`. Required when the matchmaker listens beyond loopback (BIND); a
    /// loopback-only run defaults to `none` and says so in its log.
    #[arg(long, env = "AUTH_MODE")]
    pub auth_mode: Option<String>,

    /// The keys and claims of bearer tokens.
    #[command(flatten)]
    pub jwt: JwtArgs,

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
