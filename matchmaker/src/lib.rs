//! Roomshard's matchmaker.
//!
//! A stateless HTTP service: every replica reads shard heartbeats and the room registry from
//! Redis and hands out seats with one atomic Lua script, so any number of replicas can run
//! side by side without over-filling a room or giving one seat twice.
//!
//! - [`config`]: flags and environment.
//! - [`auth`]: who is calling (bearer JWTs, API keys, or nobody, as configured).
//! - [`limits`]: rate limits per client IP and per player, the track allowlist, the
//!   client's address behind trusted proxies.
//! - [`placement`]: pure decisions — which shards are healthy, where a new room goes, how a
//!   room id is minted for a shard, what URL a client is sent to.
//! - [`store`]: the Redis boundary (scripts, deadlines, decoding).
//! - [`shard_view`]: the shards as last read, kept and shared by every reservation.
//! - [`state`]: what every handler shares, built from the [`Config`].
//! - [`metadata`]: room metadata: its checks, its stored form, the placement index of a
//!   room with metadata, listing filters.
//! - [`reserve`], [`rooms`]: one reservation, from request to signed token; the listing.
//! - [`http`]: the axum router and its handlers; [`extract`] and [`error`]: its
//!   extractor and its one error type.
//! - [`metrics`]: what it counts; logging, the shutdown signal, the ops routes and the
//!   Redis client come from `roomshard-runtime`.

pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod http;
pub mod limits;
pub mod metadata;
pub mod metrics;
pub mod pages;
pub mod placement;
pub mod reserve;
pub mod rooms;
pub mod shard_view;
pub mod state;
pub mod store;

pub use config::Config;
pub use error::AppError;
pub use http::{app, split_apps};
pub use state::AppState;
