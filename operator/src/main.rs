//! `roomshard-operator`: reconciles RoomShardSets while holding the leader Lease.

use anyhow::{Context as _, Result};
use clap::Parser;
use kube::api::{Api, ListParams};
use roomshard_operator::config::Cli;
use roomshard_operator::controller::Context;
use roomshard_operator::crd::RoomShardSet;
use roomshard_operator::http::{HttpState, app};
use roomshard_operator::leader;
use roomshard_operator::metrics::Metrics;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info};

/// Fails with a clear message when the RoomShardSet CRD is not installed.
async fn check_crd(client: &kube::Client, namespace: Option<&str>) -> Result<()> {
    let api: Api<RoomShardSet> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => anyhow::bail!(
            "the RoomShardSet CRD (roomshardsets.roomshard.dev) is not installed: apply crds/roomshardset.yaml (kubectl apply -f crds/roomshardset.yaml) or install the chart, then start the operator again"
        ),
        Err(e) => Err(e).context("checking that the RoomShardSet CRD is installed"),
    }
}

fn random_identity() -> String {
    format!(
        "roomshard-operator-{}",
        roomshard_operator::build::secret::random_token_secret()
            .get(..12)
            .unwrap_or("x")
    )
}

#[tokio::main]
async fn main() {
    roomshard_runtime::telemetry::init();
    if let Err(e) = run(Cli::parse()).await {
        error!("{e:#}");
        eprintln!("roomshard-operator: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let metrics = Arc::new(Metrics::new().context("registering metrics")?);
    let ready = Arc::new(AtomicBool::new(false));
    let addr = cli.metrics_addr();
    let listener = roomshard_runtime::listen::bind(addr, 0)
        .with_context(|| format!("binding the metrics port {addr}"))?;
    info!(%addr, "serving /healthz, /readyz and /metrics");
    let (stop_tx, stop_rx) = watch::channel(false);
    let http = {
        let mut rx = stop_rx.clone();
        let router = app(HttpState {
            metrics: metrics.clone(),
            ready: ready.clone(),
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        })
    };

    let client = kube::Client::try_default()
        .await
        .context("connecting to Kubernetes (in-cluster config or KUBECONFIG)")?;
    check_crd(&client, cli.watch_namespace.as_deref()).await?;
    // A standby is ready too: it serves metrics and takes over when the leader goes.
    ready.store(true, Ordering::Relaxed);

    let identity = cli.pod_name.clone().unwrap_or_else(random_identity);
    let lease = cli.lease(identity.clone());
    let mut leadership = leader::start(client.clone(), &lease)
        .await
        .context("starting leader election")?;
    info!(identity, lease = %lease.name, namespace = %lease.namespace, "waiting for the lease");

    let ctx = Arc::new(Context::new(client, metrics, cli.controller(), identity));
    leader::lead(
        &mut leadership,
        ctx.clone(),
        roomshard_runtime::shutdown::signal(),
    )
    .await?;
    info!("shutting down");
    ctx.redis.close().await;
    leadership.release(Duration::from_secs(5)).await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    Ok(())
}
