//! roomshard-worker: one shard of a RoomShardSet. Serves Socket.IO rooms with interest
//! management, registers itself in Redis with a heartbeat, and drains on SIGTERM.
//!
//! The binary is [`main`]; the library exists so the payload decoders ([`payload`], with
//! their [`error`] and the world's [`grid`]) can be fuzzed and tested outside the process,
//! and so a simulator can run many shards' Redis work without sockets ([`headless`]).
//!
//! A newcomer's map: [`socket`] (one file per event: join, move, say, leave) translates
//! Socket.IO events; [`admission`] decides whether a join may take a seat and [`seats`]
//! takes it; [`hub`] hosts the rooms and runs the tick over each room's replica
//! ([`interest`]); [`hooks`] calls the game's backend; [`room_sync`] carries the
//! replicas' changes between workers; [`drain`] is everything about draining; [`app`]
//! wires it all and serves.

mod admission;
mod app;
pub mod attached;
mod config;
mod conn;
mod conn_limit;
mod credential;
mod demo;
mod drain;
pub mod error;
pub mod grid;
mod handoff;
pub mod headless;
mod heartbeat;
mod hooks;
mod http;
mod hub;
mod identity;
mod interest;
mod metrics;
mod origin;
pub mod payload;
mod rate;
mod registry;
mod request_head;
mod room_log;
mod room_sync;
mod seats;
mod shard_path;
mod socket;

use clap::Parser;

/// The worker process: reads its configuration from flags and the environment, then serves
/// until SIGTERM.
pub fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    let cfg = match cli.into_config() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("roomshard-worker: {msg}");
            return std::process::ExitCode::from(2);
        }
    };
    roomshard_runtime::telemetry::init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cfg.worker_threads {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("roomshard-worker: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(cfg)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "roomshard-worker failed");
            eprintln!("roomshard-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
