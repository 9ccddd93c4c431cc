//! The shell every Roomshard binary runs in, written once: the worker, the matchmaker and
//! the operator differ in what they do, not in how they log, stop, report or reach Redis.
//! The contract they share (keys, records, payloads) stays in the I/O-free
//! `roomshard-protocol`; this crate holds the I/O around it.
//!
//! - [`telemetry`]: one log set-up and one JSON line shape.
//! - [`listen`]: the listening ports, with a backlog for bursts.
//! - [`shutdown`]: the SIGTERM / Ctrl-C signal.
//! - [`ops`]: the `/healthz`, `/readyz` and `/metrics` routes.
//! - [`metrics`]: an owned registry with the `roomshard_` prefix, and its text rendering.
//! - [`redis`]: the client builder, the call under a deadline and its one error type.
//! - [`tls`]: the CA and client certificate of `rediss://` connections.
//! - [`jwt`] (feature `jwt`): bearer JWTs, checked the same way by the matchmaker and the
//!   worker.
//! - [`http_client`] (feature `http-client`): the one outgoing HTTP client.
//! - [`redact`]: passwords taken out of URLs before they are logged.
//! - [`lua`]: Lua scripts kept in `.lua` files, run with EVALSHA.
//! - [`seat_index`]: a track's placement index, posted to by every process that changes a
//!   room's seats.
//! - [`pages`]: the demo page and the client library's modules, served by the worker and
//!   the matchmaker alike.

#[cfg(feature = "http-client")]
pub mod http_client;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod listen;
pub mod lua;
pub mod metrics;
pub mod ops;
pub mod pages;
pub mod redact;
pub mod redis;
pub mod seat_index;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
