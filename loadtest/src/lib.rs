//! Simulated players for Roomshard.
//!
//! [`sio`] is a minimal Socket.IO v5 / Engine.IO v4 client over WebSocket (text packets,
//! acks, ping/pong) — enough to drive a worker as the official client does, without a
//! browser's cost per connection. [`stats`] holds the pure latency and rate arithmetic,
//! [`run`] the players and the summary. [`sim`] is `roomshard-sim`: a thousand shards'
//! Redis work in one process, without sockets.

pub mod reserve;
pub mod run;
pub mod sim;
pub mod sio;
pub mod stats;
pub mod target;
