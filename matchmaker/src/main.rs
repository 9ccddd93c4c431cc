use clap::Parser;
use roomshard_matchmaker::{AppState, Config, app, split_apps};
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
    if config.ops_port == Some(config.port) {
        anyhow::bail!(
            "OPS_PORT must differ from PORT ({}): the ops routes are kept off the client port",
            config.port
        );
    }
    let state = AppState::new(&config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = roomshard_runtime::listen::bind(addr, 0)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (PORT): {e}"))?;
    tracing::info!(%addr, set = %config.set, "matchmaker listening");

    let watcher = tokio::spawn(state.shards.clone().keep_fresh());
    let jwks = state.auth.jwks().map(|j| tokio::spawn(j.keep_fresh()));

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let client = match config.ops_port {
        None => app(state),
        Some(port) => {
            let ops_addr = SocketAddr::new(config.bind, port);
            let ops_listener = roomshard_runtime::listen::bind(ops_addr, 0)
                .map_err(|e| anyhow::anyhow!("cannot listen on {ops_addr} (OPS_PORT): {e}"))?;
            tracing::info!(addr = %ops_addr, "ops routes and the status page on their own port");
            let (client, ops) = split_apps(state);
            let ops = ops.into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(ops_listener, ops).await {
                    tracing::warn!(error = %e, "ops server ended");
                }
            });
            client
        }
    };
    let service = client.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
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
    if let Some(j) = jwks {
        j.abort();
    }
    tracing::info!("matchmaker stopped");
    Ok(())
}
