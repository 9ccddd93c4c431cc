//! Wiring and lifecycle: the adapter chosen at start-up, registration, the tick, serving,
//! and the drain on SIGTERM.

use crate::config::Config;
use crate::conn;
use crate::handlers;
use crate::heartbeat::{Heartbeat, Identity, Load};
use crate::http::{self, Readiness};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::request_head;
use crate::seats::{MemorySeats, RedisSeats, Seats};
use crate::sync::SyncLink;
use roomshard_protocol::events;
use roomshard_protocol::records::Capacity;
use roomshard_runtime::redis::{self, ClientOptions};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, SocketIo, SocketIoBuilder};
use socketioxide_redis::{FredAdapter, RedisAdapterConfig, RedisAdapterCtr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How long start-up waits for Redis before giving up (the pod then restarts).
const REDIS_STARTUP: Duration = Duration::from_secs(30);

/// The worker's Redis clients: RESP3 for the Socket.IO adapter, room in fred's channels for
/// bursts of pub/sub messages, and a command cut off by a reconnection sent once more.
fn redis_options(timeout: Duration) -> ClientOptions {
    ClientOptions {
        connect_timeout: timeout.max(Duration::from_millis(500)),
        max_command_attempts: 2,
        resp3: true,
        broadcast_capacity: Some(8192),
        reconnect_delays_ms: (50, 2_000),
        ..ClientOptions::new(timeout)
    }
}

/// Bytes each WebSocket connection reads at a time. Player messages are small (a move is
/// about 30 bytes); a larger message is read in several steps. Every idle connection holds
/// this buffer, so it is most of the cost of a connection at rest.
const WS_READ_BUFFER: usize = 1024;
/// Binary attachments a Socket.IO packet may announce. The protocol carries none; a few
/// are tolerated (the event is refused as malformed), more close the connection.
const MAX_ATTACHMENTS: usize = 4;
/// How long the attachments of a packet may take to arrive.
const ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(5);

fn socketio_builder(cfg: &Config) -> SocketIoBuilder {
    let max = cfg.limits.max_message_bytes;
    // `max_payload` bounds polling bodies only; WebSocket messages and frames get the same
    // bound through the WebSocket config, so one limit holds on both transports. The
    // attachments of one packet, held until the last arrives, share that bound too.
    SocketIo::builder()
        .max_payload(u64::from(max))
        .ws_max_message_size(max as usize)
        .ws_max_frame_size(max as usize)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(MAX_ATTACHMENTS)
                .max_incoming_binary_buf_size(max as usize)
                .packet_completion_timeout(ATTACHMENT_TIMEOUT),
        )
}

/// The namespace's connect handler. The event handlers are registered by a middleware,
/// which runs before the client is told it is connected.
fn connect_handler<A: Adapter>(hub: Arc<Hub<A>>) -> impl ConnectHandler<A, (SocketRef<A>,)> {
    let connected = hub.clone();
    let handler = move |socket: SocketRef<A>| {
        handlers::on_connected(&connected, &socket);
        std::future::ready(())
    };
    let register = move |socket: SocketRef<A>| {
        handlers::register(hub.clone(), socket);
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    };
    handler.with(register)
}

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    let metrics = Arc::new(Metrics::new()?);
    let readiness = Arc::new(Readiness::default());
    let listener = conn::bind(cfg.bind, cfg.limits.send_buffer_bytes)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.bind))?;
    tracing::info!(
        addr = %cfg.bind,
        shard = %cfg.shard,
        set = cfg.keys.set(),
        clustered = cfg.redis_url.is_some(),
        require_token = cfg.require_token,
        "roomshard-worker starting"
    );

    match cfg.redis_url.clone() {
        None => {
            let (layer, io) = socketio_builder(&cfg).build_layer();
            let hub = Hub::new(
                io.clone(),
                cfg.clone(),
                metrics.clone(),
                Seats::Memory(MemorySeats::default()),
                None,
            )?;
            io.ns("/", connect_handler(hub.clone()));
            readiness.registered.store(true, Ordering::SeqCst);
            serve(cfg, metrics, readiness, hub, layer, listener, None).await
        }
        Some(url) => {
            let timeout = cfg.redis_timeout;
            let options = redis_options(timeout);
            let client = options.client(&url)?;
            redis::init_with_deadline(&client, REDIS_STARTUP).await?;
            let adapter_client = options.subscriber(&url)?;
            let _resubscriber = adapter_client.manage_subscriptions();
            let adapter = tokio::time::timeout(
                REDIS_STARTUP,
                RedisAdapterCtr::new_with_fred_config(
                    adapter_client,
                    RedisAdapterConfig::new()
                        .with_prefix(cfg.keys.adapter_prefix())
                        .with_request_timeout(timeout.max(Duration::from_secs(1))),
                ),
            )
            .await
            .map_err(|_| {
                anyhow::anyhow!("redis adapter did not connect within {REDIS_STARTUP:?}")
            })??;
            let (layer, io) = socketio_builder(&cfg)
                .with_adapter::<FredAdapter<_>>(adapter)
                .build_layer();
            let worker_id = format!(
                "{}-{}",
                if cfg.pod_name.is_empty() {
                    "worker"
                } else {
                    &cfg.pod_name
                },
                roomshard_protocol::token::new_nonce()
            );
            let sync = SyncLink::start(
                worker_id,
                cfg.keys.clone(),
                client.clone(),
                options.subscriber(&url)?,
                timeout,
                metrics.clone(),
            )
            .await?;
            let seats = Seats::Redis(Box::new(RedisSeats::new(
                client.clone(),
                cfg.keys.clone(),
                cfg.shard.index(),
                timeout,
                metrics.clone(),
            )));
            let hub = Hub::new(io.clone(), cfg.clone(), metrics.clone(), seats, Some(sync))?;
            io.ns("/", connect_handler(hub.clone()))
                .await
                .map_err(|e| anyhow::anyhow!("redis adapter failed to start: {e}"))?;
            let heartbeat = Heartbeat::new(
                client,
                cfg.keys.clone(),
                Identity {
                    shard: cfg.shard,
                    pod: cfg.pod_name.clone(),
                    url: cfg.public_url.clone(),
                    started_at: roomshard_protocol::now_ms(),
                    interval: cfg.heartbeat_interval,
                    capacity: Capacity {
                        rooms_per_shard: cfg.rooms_per_shard,
                        players_per_room: cfg.room_capacity,
                    },
                },
                timeout,
                metrics.clone(),
            );
            let stale = cfg.heartbeat_interval.as_millis()
                * u128::from(roomshard_protocol::MISSED_HEARTBEATS_UNHEALTHY);
            readiness
                .stale_after_ms
                .store(u64::try_from(stale).unwrap_or(u64::MAX), Ordering::SeqCst);
            serve(
                cfg,
                metrics,
                readiness,
                hub,
                layer,
                listener,
                Some(Arc::new(heartbeat)),
            )
            .await
        }
    }
}

async fn beat<A: Adapter>(hub: &Hub<A>, hb: &Heartbeat, readiness: &Readiness) {
    // The operator drains a shard on scale-down by listing it in the `draining` set: stop
    // taking joins and tell the clients, who may reserve elsewhere; nobody is disconnected.
    match hb.marked_draining().await {
        Ok(marked) => {
            if hub.set_marked_draining(marked) {
                tracing::info!("marked draining by the operator; refusing new joins");
                hub.metrics.event_out(events::DRAINING);
                let _ = hub
                    .io
                    .local()
                    .emit(events::DRAINING, &handlers::operator_drain_notice())
                    .await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the draining mark failed"),
    }
    let (rooms, players, tracks) = hub.load();
    let load = Load {
        rooms,
        players,
        tracks,
        draining: hub.is_draining(),
    };
    match hb.beat(load).await {
        Ok(()) => {
            readiness
                .last_beat_ms
                .store(roomshard_protocol::now_ms(), Ordering::SeqCst);
            if !readiness.registered.swap(true, Ordering::SeqCst) {
                tracing::info!("registered in redis");
            }
        }
        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
    }
}

async fn serve<A: Adapter>(
    cfg: Arc<Config>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    hub: Arc<Hub<A>>,
    layer: SocketIoLayer<A>,
    listener: TcpListener,
    heartbeat: Option<Arc<Heartbeat>>,
) -> anyhow::Result<()> {
    let app = http::router(metrics.clone(), readiness.clone())
        .merge(crate::demo::router())
        .layer(layer)
        .layer(axum::middleware::map_request(
            |req: axum::extract::Request| async move { request_head::detach(req) },
        ));

    let ticks = tokio::spawn(hub.clone().run_ticks());
    let receiver = tokio::spawn(hub.clone().run_sync_receiver());
    let beats = heartbeat.clone().map(|hb| {
        let (hub, readiness) = (hub.clone(), readiness.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(hb.interval());
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                beat(&hub, &hb, &readiness).await;
            }
        })
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let listener = conn::Listener::new(listener, cfg.limits.write_stall_timeout);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });

    roomshard_runtime::shutdown::signal().await;
    tracing::info!("shutdown requested; draining");
    drain(&cfg, &hub, &readiness, heartbeat.as_deref()).await;
    if let Some(b) = beats {
        b.abort();
    }
    if let Some(hb) = &heartbeat {
        match hb.deregister().await {
            Ok(()) => tracing::info!("deregistered from redis"),
            Err(e) => {
                tracing::warn!(error = %e, "deregistration failed; the heartbeat will expire")
            }
        }
    }
    ticks.abort();
    receiver.abort();
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server ended with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("server did not stop within 5s; exiting anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Draining: refuse joins, say so in the heartbeat and to every client, give clients
/// until the drain timeout to move, then close the rest.
async fn drain<A: Adapter>(
    cfg: &Config,
    hub: &Arc<Hub<A>>,
    readiness: &Readiness,
    heartbeat: Option<&Heartbeat>,
) {
    hub.start_draining();
    readiness.draining.store(true, Ordering::SeqCst);
    let started = Instant::now();
    if let Some(hb) = heartbeat {
        beat(hub, hb, readiness).await;
    }
    hub.metrics.event_out(events::DRAINING);
    let _ = hub
        .io
        .local()
        .emit(events::DRAINING, &handlers::draining_notice(hub))
        .await;
    // Stay visible as draining for at least one heartbeat interval, so readers that poll
    // heartbeats see the state before the record goes.
    let min_visible = cfg.heartbeat_interval.min(cfg.drain_timeout);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let elapsed = started.elapsed();
        let idle = hub.metrics.connections.get() <= 0;
        if elapsed >= cfg.drain_timeout || (idle && elapsed >= min_visible) {
            break;
        }
    }
    let open = hub.metrics.connections.get();
    if open > 0 {
        tracing::info!(
            open,
            "drain timeout reached; closing the remaining connections"
        );
        let _ = hub.io.local().disconnect().await;
    }
    // Leaves release their seats in disconnect handlers; give them a bounded moment.
    let until = Instant::now() + Duration::from_secs(2);
    while hub.holds_seats() && Instant::now() < until {
        poll.tick().await;
    }
}
