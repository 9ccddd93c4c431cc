//! Wiring and lifecycle: the adapter chosen at start-up, registration, the tick, serving,
//! and the drain on SIGTERM.

use crate::config::Config;
use crate::conn;
use crate::conn_limit::Slots;
use crate::drain::{self, Drain};
use crate::handoff::Handoff;
use crate::heartbeat::{Heartbeat, Identity, Load};
use crate::http::{self, Readiness};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::origin;
use crate::registry::Registry;
use crate::request_head;
use crate::room_sync::SyncLink;
use crate::seats::{MemorySeats, RedisSeats, Seats};
use crate::socket;
use roomshard_protocol::SyncChannels;
use roomshard_protocol::records::Capacity;
use roomshard_runtime::redis::{self, ClientOptions};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::layer::SocketIoLayer;
use socketioxide_redis::{FredAdapter, RedisAdapterConfig, RedisAdapterCtr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long start-up waits for Redis before giving up (the pod then restarts).
const REDIS_STARTUP: Duration = Duration::from_secs(30);
/// How soon a failed heartbeat is tried again.
const BEAT_RETRY: Duration = Duration::from_millis(100);

/// The worker's Redis clients: RESP3 for the Socket.IO adapter, room in fred's channels for
/// bursts of pub/sub messages, and a command cut off by a reconnection sent once more.
/// Reconnection attempts back off to one every 500 ms at most, so that a worker registers
/// again within about a heartbeat of Redis coming back (with 2 s it could take two).
fn redis_options(timeout: Duration, tls: &redis::RedisTls) -> ClientOptions {
    ClientOptions {
        connect_timeout: timeout.max(Duration::from_millis(500)),
        max_command_attempts: 2,
        resp3: true,
        broadcast_capacity: Some(8192),
        reconnect_delays_ms: (50, 500),
        tls: tls.clone(),
        ..ClientOptions::new(timeout)
    }
}

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    let metrics = Arc::new(Metrics::new()?);
    let readiness = Arc::new(Readiness::default());
    let listener = roomshard_runtime::listen::bind(cfg.bind, cfg.limits.send_buffer_bytes)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.bind))?;
    tracing::info!(
        addr = %cfg.bind,
        shard = %cfg.shard,
        set = cfg.keys.set(),
        clustered = cfg.redis_url.is_some(),
        require_token = cfg.require_token,
        "roomshard-worker starting"
    );

    if let Some(keys) = cfg.identity.as_ref().and_then(|v| v.key_set()) {
        // Kept fresh for as long as the process runs.
        tokio::spawn(keys.keep_fresh());
    }
    let drain = Arc::new(Drain::new(metrics.clone(), cfg.drain_timeout));
    let ops = http::router(metrics.clone(), readiness.clone());

    match cfg.redis_url.clone() {
        None => {
            let seats = Seats::Memory(MemorySeats::default());
            let hub = Hub::new(cfg.clone(), metrics.clone(), seats, None)?;
            let (layer, io) = socket::builder(&cfg, hub.clone(), drain.clone()).build_layer();
            io.ns("/", socket::connect_handler());
            readiness.registered.store(true, Ordering::SeqCst);
            let worker = Worker::new(hub, drain, readiness, io);
            worker.serve(ops, layer, listener, None).await
        }
        Some(url) => {
            let timeout = cfg.redis_timeout;
            let options = redis_options(timeout, &cfg.redis_tls);
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
                SyncChannels::new(cfg.keys.clone()),
                client.clone(),
                options.subscriber(&url)?,
                timeout,
                metrics.clone(),
            )
            .await?;
            let registry = Registry {
                client,
                keys: cfg.keys.clone(),
                timeout,
                metrics: metrics.clone(),
            };
            let redis_seats = RedisSeats::new(registry.clone(), cfg.shard.index());
            let handed = take_handoff(&redis_seats).await;
            let kept = handed
                .iter()
                .flat_map(|h| h.rooms.iter().map(|r| r.room.clone()))
                .collect();
            match redis_seats.forget_earlier_players(&kept).await {
                Ok(r) if r.rooms > 0 || r.closed > 0 => tracing::info!(
                    rooms = r.rooms,
                    players = r.players,
                    closed = r.closed,
                    "forgot the players an earlier process of this shard left counted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    "could not read this shard's rooms at start; counts an earlier process left stay"
                ),
            }
            let seats = Seats::Redis(Box::new(redis_seats));
            let hub = Hub::new(cfg.clone(), metrics.clone(), seats, Some(sync))?;
            let (layer, io) = socket::builder(&cfg, hub.clone(), drain.clone())
                .with_adapter::<FredAdapter<_>>(adapter)
                .build_layer();
            io.ns("/", socket::connect_handler())
                .await
                .map_err(|e| anyhow::anyhow!("redis adapter failed to start: {e}"))?;
            let heartbeat = Heartbeat::new(
                registry,
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
            );
            let stale = cfg.heartbeat_interval.as_millis()
                * u128::from(roomshard_protocol::MISSED_HEARTBEATS_UNHEALTHY);
            readiness
                .stale_after_ms
                .store(u64::try_from(stale).unwrap_or(u64::MAX), Ordering::SeqCst);
            if let Some(handed) = handed {
                let players = handed.players();
                let rooms = handed.rooms.len();
                hub.take_over(&io, handed).await;
                tracing::info!(
                    rooms,
                    players,
                    "took over the rooms the earlier process of this shard handed over"
                );
            }
            let worker = Worker::new(hub, drain, readiness, io);
            worker
                .serve(ops, layer, listener, Some(Arc::new(heartbeat)))
                .await
        }
    }
}

/// Serves the ops routes (and the demo page) on their own port until aborted.
async fn serve_ops(
    addr: std::net::SocketAddr,
    app: axum::Router,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = roomshard_runtime::listen::bind(addr, 0)
        .map_err(|e| anyhow::anyhow!("cannot listen on the ops port {addr}: {e}"))?;
    tracing::info!(addr = %addr, "ops routes on their own port");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "ops server ended");
        }
    }))
}

/// The rooms an earlier process of this shard handed over, if it left any that decode.
async fn take_handoff(seats: &RedisSeats) -> Option<Handoff> {
    let bytes = match seats.take_handoff().await {
        Ok(bytes) => bytes?,
        Err(e) => {
            tracing::warn!(error = %e, "could not read this shard's handoff record");
            return None;
        }
    };
    Handoff::decode(&bytes)
        .inspect_err(|e| tracing::warn!(error = %e, "dropped this shard's handoff record"))
        .ok()
}

/// What a running worker is made of, whichever adapter it runs on.
struct Worker<A: Adapter> {
    hub: Arc<Hub>,
    drain: Arc<Drain>,
    readiness: Arc<Readiness>,
    io: SocketIo<A>,
}

impl<A: Adapter> Worker<A> {
    fn new(hub: Arc<Hub>, drain: Arc<Drain>, readiness: Arc<Readiness>, io: SocketIo<A>) -> Self {
        Self {
            hub,
            drain,
            readiness,
            io,
        }
    }

    /// On the way out of a shard the operator is replacing: refuse joins, say so in a last
    /// heartbeat, and hand every room to the next process of the shard
    /// ([`crate::handoff`]). `None` when this is not such a shutdown, or the handoff could
    /// not be written: then the worker drains.
    async fn hand_off(&self, heartbeat: Option<&Heartbeat>) -> Option<usize> {
        let hb = heartbeat?;
        if !self.hub.replacing().await {
            return None;
        }
        tracing::info!("shutdown requested while the operator replaces this shard; handing over");
        self.drain.begin_shutdown();
        self.readiness.draining.store(true, Ordering::SeqCst);
        let _ = self.beat(hb).await;
        let players = self.hub.hand_off(&self.io).await?;
        tracing::info!(players, "handed the rooms to the next process of the shard");
        Some(players)
    }

    /// One heartbeat: follow the operator's drain mark (into the rooms, too), keep the
    /// placement indices of this shard's rooms, then report the load. False when the
    /// heartbeat could not be written.
    async fn beat(&self, hb: &Heartbeat) -> bool {
        drain::follow_operator_mark(&self.drain, &self.io, hb, |draining| {
            self.hub.mark_rooms(draining)
        })
        .await;
        self.hub.seat_upkeep(self.drain.is_draining()).await;
        let (rooms, players, tracks) = self.hub.load();
        let load = Load {
            rooms,
            players,
            tracks,
            draining: self.drain.is_draining(),
        };
        match hb.beat(load).await {
            Ok(()) => {
                self.readiness
                    .last_beat_ms
                    .store(roomshard_protocol::now_ms(), Ordering::SeqCst);
                if !self.readiness.registered.swap(true, Ordering::SeqCst) {
                    tracing::info!("registered in redis");
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed");
                false
            }
        }
    }

    /// Serves `ops` (health, readiness, metrics), the demo page and Socket.IO until
    /// SIGTERM, then drains.
    async fn serve(
        self,
        ops: axum::Router,
        layer: SocketIoLayer<A>,
        listener: TcpListener,
        heartbeat: Option<Arc<Heartbeat>>,
    ) -> anyhow::Result<()> {
        let cfg = self.hub.cfg();
        let origins = Arc::new(cfg.edge.allowed_origins.clone());
        let socket_io = axum::Router::new()
            .layer(layer)
            .layer(axum::middleware::from_fn_with_state(origins, origin::check));
        // With an ops port the client port serves Socket.IO alone.
        let ops_app = ops.merge(crate::demo::router());
        let (app, ops_app) = match cfg.ops_bind {
            Some(_) => (socket_io, Some(ops_app)),
            None => (ops_app.merge(socket_io), None),
        };
        let app = app.layer(axum::middleware::map_request(
            |req: axum::extract::Request| async move {
                request_head::detach(crate::shard_path::strip(req))
            },
        ));
        let ops_server = match (cfg.ops_bind, ops_app) {
            (Some(addr), Some(ops_app)) => Some(serve_ops(addr, ops_app).await?),
            _ => None,
        };

        let ticks = tokio::spawn(self.hub.clone().run_ticks(self.io.clone()));
        let receiver = tokio::spawn(self.hub.clone().run_room_sync(self.io.clone()));
        let worker = Arc::new(self);
        let beats = heartbeat.clone().map(|hb| {
            let worker = worker.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(hb.interval());
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    // A failed beat (Redis away) is tried again soon, not an interval
                    // later: the shard is back in the registry as soon as Redis is.
                    if !worker.beat(&hb).await {
                        every.reset_after(BEAT_RETRY.min(hb.interval()));
                    }
                }
            })
        });

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let cfg = worker.hub.cfg();
        let slots = Slots::new(cfg.edge.max_connections, cfg.edge.max_connections_per_ip);
        let refused = worker.hub.metrics().connections_refused.clone();
        let listener =
            conn::Listener::new(listener, cfg.limits.write_stall_timeout).capped(slots, refused);
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
        });

        roomshard_runtime::shutdown::signal().await;
        if worker.hand_off(heartbeat.as_deref()).await.is_none() {
            tracing::info!("shutdown requested; draining");
            let announce = async {
                if let Some(hb) = &heartbeat {
                    let _ = worker.beat(hb).await;
                }
                // Nobody can resume on a worker that is going away.
                worker.hub.release_away(&worker.io).await;
            };
            drain::on_shutdown(&worker.drain, cfg, &worker.io, &worker.readiness, announce).await;
        }
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
        if let Some(ops) = ops_server {
            ops.abort();
        }
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
}
