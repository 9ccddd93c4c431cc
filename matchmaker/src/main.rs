use clap::Parser;
use roomshard_matchmaker::{AppState, Config, app};
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
    let state = AppState::new(&config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (PORT): {e}"))?;
    tracing::info!(%addr, set = %config.set, "matchmaker listening");

    let watcher = tokio::spawn(state.shards.clone().keep_fresh());
    let jwks = state.auth.jwks().map(|j| tokio::spawn(j.keep_fresh()));

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
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
