//! roomshard-worker: one shard of a RoomShardSet. Serves Socket.IO rooms with interest
//! management, registers itself in Redis with a heartbeat, and drains on SIGTERM.
//!
//! The binary is [`main`]; the library exists so the payload decoders ([`limits`], with
//! the world's [`grid`]) can be fuzzed and tested outside the process.

mod app;
mod config;
mod conn;
mod demo;
pub mod grid;
mod handlers;
mod heartbeat;
mod http;
mod hub;
mod interest;
pub mod limits;
mod metrics;
mod request_head;
mod seats;
mod sync;

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
