//! roomshard-worker: one shard of a RoomShardSet. Serves Socket.IO rooms with interest
//! management, registers itself in Redis with a heartbeat, and drains on SIGTERM.

mod app;
mod config;
mod conn;
mod demo;
mod grid;
mod handlers;
mod heartbeat;
mod http;
mod hub;
mod interest;
mod limits;
mod metrics;
mod redis_link;
mod seats;
mod sync;
mod telemetry;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    let cfg = match cli.into_config() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("roomshard-worker: {msg}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
