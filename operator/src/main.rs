//! `roomshard-operator`: reconciles RoomShardSets while holding the leader Lease.

use anyhow::{Context as _, Result};
use clap::Parser;
use kube::api::{Api, ListParams};
use roomshard_operator::controller::{self, Config, Context};
use roomshard_operator::crd::RoomShardSet;
use roomshard_operator::http::{HttpState, app};
use roomshard_operator::leader::{self, Leadership, LeaseConfig};
use roomshard_operator::metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(
    name = "roomshard-operator",
    version,
    about = "Reconciles RoomShardSets into sharded Roomshard workers"
)]
struct Cli {
    /// Redis for sets whose spec names none.
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    /// Namespace to watch; all namespaces when unset.
    #[arg(long, env = "WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "roomshard-operator")]
    lease_name: String,
    /// Namespace of the Lease (default: POD_NAMESPACE, else `default`).
    #[arg(long, env = "LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Namespace the operator runs in (from the downward API).
    #[arg(long, env = "POD_NAMESPACE")]
    pod_namespace: Option<String>,
    /// Lease duration in seconds: how long a dead leader blocks a standby.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15)]
    lease_duration_seconds: u64,
    /// Seconds before expiry at which the leader renews.
    #[arg(long, env = "LEASE_GRACE_SECONDS", default_value_t = 5)]
    lease_grace_seconds: u64,
    /// Holder identity in the Lease (the pod name); a random one when unset.
    #[arg(long, env = "POD_NAME")]
    pod_name: Option<String>,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDRESS", default_value = "0.0.0.0")]
    metrics_address: std::net::IpAddr,
    #[arg(long, env = "METRICS_PORT", default_value_t = 8080)]
    metrics_port: u16,
    /// Seconds between two status refreshes of a settled set.
    #[arg(long, env = "RESYNC_SECONDS", default_value_t = 30)]
    resync_seconds: u64,
    /// Seconds between two checks of a running drain.
    #[arg(long, env = "DRAIN_POLL_SECONDS", default_value_t = 2)]
    drain_poll_seconds: u64,
    /// Seconds the finalizer spends on Redis clean-up before letting deletion proceed.
    #[arg(long, env = "CLEANUP_TIMEOUT_SECONDS", default_value_t = 10)]
    cleanup_timeout_seconds: u64,
}

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
    let addr = SocketAddr::new(cli.metrics_address, cli.metrics_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
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
    let lease = LeaseConfig {
        name: cli.lease_name.clone(),
        namespace: cli
            .lease_namespace
            .clone()
            .or(cli.pod_namespace.clone())
            .unwrap_or_else(|| "default".into()),
        identity: identity.clone(),
        duration: Duration::from_secs(cli.lease_duration_seconds),
        grace: Duration::from_secs(
            cli.lease_grace_seconds
                .min(cli.lease_duration_seconds.saturating_sub(1)),
        ),
    };
    let mut leadership = leader::start(client.clone(), &lease)
        .await
        .context("starting leader election")?;
    info!(identity, lease = %lease.name, namespace = %lease.namespace, "waiting for the lease");

    let config = Config {
        default_redis_url: cli.redis_url.clone(),
        namespace: cli.watch_namespace.clone(),
        cleanup_budget: Duration::from_secs(cli.cleanup_timeout_seconds),
        resync: Duration::from_secs(cli.resync_seconds.max(1)),
        drain_poll: Duration::from_secs(cli.drain_poll_seconds.max(1)),
    };
    let ctx = Arc::new(Context::new(client, metrics.clone(), config, identity));
    let signal = roomshard_runtime::shutdown::signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            got = leadership.acquired() => {
                if !got {
                    anyhow::bail!("leader election stopped");
                }
            }
        }
        info!("acquired the lease; running the controller");
        metrics.leader.set(1);
        let lost = Leadership::lost(leadership.is_leader.clone());
        let (end_tx, end_rx) = watch::channel(false);
        let mut end_rx2 = end_rx.clone();
        let controller = tokio::spawn(controller::run(ctx.clone(), async move {
            let _ = end_rx2.wait_for(|e| *e).await;
        }));
        let stop = tokio::select! {
            _ = &mut signal => true,
            _ = lost => false,
        };
        let _ = end_tx.send(true);
        drop(end_rx);
        let _ = controller.await;
        metrics.leader.set(0);
        if stop {
            break;
        }
        info!("lost the lease; controller stopped, waiting to win it again");
    }
    info!("shutting down");
    ctx.redis.close().await;
    leadership.release(Duration::from_secs(5)).await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    Ok(())
}
