use clap::Parser;
use roomshard_matchmaker::http::{AppState, Inner};
use roomshard_matchmaker::metrics::Metrics;
use roomshard_matchmaker::placement::Defaults;
use roomshard_matchmaker::store::Store;
use roomshard_matchmaker::{Config, app};
use roomshard_protocol::Keys;
use roomshard_protocol::records::Capacity;
use roomshard_protocol::token::TokenKey;
use roomshard_runtime::{shutdown, telemetry};
use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    telemetry::init();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "matchmaker failed");
            eprintln!("roomshard-matchmaker: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let keys =
        Keys::new(&config.set).map_err(|e| anyhow::anyhow!("ROOMSHARD_SET is invalid: {e}"))?;
    let token_key = TokenKey::new(config.token_secret.as_bytes().to_vec())
        .map_err(|e| anyhow::anyhow!("ROOMSHARD_TOKEN_SECRET is invalid: {e}"))?;
    let store = Store::connect(&config.redis_url, keys, config.redis_timeout())
        .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
    let state = AppState::new(Inner {
        store,
        metrics: Metrics::new()?,
        token_key,
        reservation_ttl_ms: config.reservation_ttl_ms,
        defaults: Defaults {
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            capacity: Capacity {
                rooms_per_shard: config.rooms_per_shard,
                players_per_room: config.room_capacity,
            },
        },
        public_url: config.public_url.clone(),
        worker_base_port: config.worker_base_port,
    });
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (PORT): {e}"))?;
    tracing::info!(%addr, set = %config.set, "matchmaker listening");

    // Read the shards once per heartbeat interval: reservations plan with this view instead
    // of reading every heartbeat each time, and the shard gauges stay current even when
    // nobody is reserving, so dashboards and alerts see a shard go stale.
    let watcher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.view_refresh_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let _ = state.refresh_shards().await;
            }
        })
    };

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(async move {
        shutdown::signal().await;
        let _ = stop_tx.send(true);
    });
    let grace = config.shutdown_timeout();
    tokio::select! {
        r = server => r?,
        () = async {
            let _ = stop_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "in-flight requests outlived the shutdown timeout"),
    }
    watcher.abort();
    tracing::info!("matchmaker stopped");
    Ok(())
}
