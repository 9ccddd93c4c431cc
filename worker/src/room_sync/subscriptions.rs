//! The room channels this worker is subscribed to, by partition
//! ([`SyncChannels`]), and keeping them subscribed while slots move.
//!
//! A subscription to a sharded channel lives on the node that owns the channel's slot.
//! fred subscribes again after a reconnection (a node that died, a failover), but when a
//! slot moves to another node (`redis-cli --cluster reshard`, a rebalance) the old node
//! only drops the subscriptions, and fred lets that pass unnoticed. So the worker watches
//! the owner of each partition it uses in its command client's routing table, which follows
//! `MOVED` as soon as a publish meets one (each hosted room publishes at least once a
//! second), and subscribes the partition's channels again, in one `SSUBSCRIBE`, where they
//! now live. The rooms of a partition that moved then ask for snapshots, to make up for the
//! messages lost in between.

use crate::metrics::Metrics;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, ClusterInterface, PubsubInterface};
use roomshard_protocol::SyncChannels;
use roomshard_runtime::redis::within_counted;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How often the owners of the partitions in use are compared with the routing table.
pub(super) const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The rooms of one partition this worker is subscribed to, and the node that held the
/// partition's slot when they were.
#[derive(Default)]
struct Partition {
    rooms: BTreeSet<String>,
    owner: Option<String>,
}

pub(super) struct Subscriptions {
    channels: SyncChannels,
    subscriber: SubscriberClient,
    /// The command client, whose routing table learns of moved slots first.
    router: Client,
    timeout: Duration,
    metrics: Arc<Metrics>,
    partitions: Mutex<HashMap<u32, Partition>>,
}

impl Subscriptions {
    pub(super) fn new(
        channels: SyncChannels,
        subscriber: SubscriberClient,
        router: Client,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            channels,
            subscriber,
            router,
            timeout,
            metrics,
            partitions: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn channels(&self) -> &SyncChannels {
        &self.channels
    }

    /// Whether slots can move under the subscriptions at all.
    pub(super) fn clustered(&self) -> bool {
        self.router.is_clustered()
    }

    /// Subscribes to `room`'s channel; false (logged and counted) when Redis did not
    /// confirm it in time.
    pub(super) async fn add(&self, room: &str) -> bool {
        let channel = self.channels.channel(room);
        let result = within_counted(
            self.timeout,
            &self.metrics.redis_errors,
            "sync_subscribe",
            self.subscriber.ssubscribe(channel),
        )
        .await;
        if let Err(e) = result {
            tracing::warn!(room, error = %e, "subscribing to room sync failed");
            return false;
        }
        let partition = self.channels.partition_of(room);
        let owner = self.owner_of(partition);
        let mut partitions = self.partitions.lock().await;
        let entry = partitions.entry(partition).or_insert_with(|| Partition {
            rooms: BTreeSet::new(),
            owner,
        });
        entry.rooms.insert(room.to_owned());
        true
    }

    pub(super) async fn remove(&self, room: &str) {
        let partition = self.channels.partition_of(room);
        {
            let mut partitions = self.partitions.lock().await;
            if let Some(p) = partitions.get_mut(&partition) {
                p.rooms.remove(room);
                if p.rooms.is_empty() {
                    partitions.remove(&partition);
                }
            }
        }
        if let Err(e) = within_counted(
            self.timeout,
            &self.metrics.redis_errors,
            "sync_unsubscribe",
            self.subscriber.sunsubscribe(self.channels.channel(room)),
        )
        .await
        {
            tracing::warn!(room, error = %e, "unsubscribing from room sync failed");
        }
    }

    /// Subscribes again each partition whose slot moved to another node since it was
    /// subscribed; the rooms of those partitions, which may have missed messages.
    pub(super) async fn follow_moves(&self) -> Vec<String> {
        let moved: Vec<(u32, Option<String>, Vec<String>)> = self
            .partitions
            .lock()
            .await
            .iter()
            .filter_map(|(&p, part)| {
                let now = self.owner_of(p);
                (now.is_some() && now != part.owner)
                    .then(|| (p, now, part.rooms.iter().cloned().collect()))
            })
            .collect();
        let mut resumed = Vec::new();
        for (partition, owner, rooms) in moved {
            let channels: Vec<String> = rooms.iter().map(|r| self.channels.channel(r)).collect();
            let result = within_counted(
                self.timeout,
                &self.metrics.redis_errors,
                "sync_resubscribe",
                self.subscriber.ssubscribe(channels),
            )
            .await;
            match result {
                Ok(()) => {
                    tracing::info!(partition, owner = ?owner, rooms = rooms.len(),
                        "room sync partition moved; subscribed again");
                    if let Some(p) = self.partitions.lock().await.get_mut(&partition) {
                        p.owner = owner;
                    }
                    resumed.extend(rooms);
                }
                // Tried again on the next watch.
                Err(e) => {
                    tracing::warn!(partition, error = %e, "re-subscribing a moved partition failed")
                }
            }
        }
        resumed
    }

    /// The node that owns partition `p`'s slot, as the command client's routing table has
    /// it (None on a single server).
    fn owner_of(&self, partition: u32) -> Option<String> {
        let slot = self.channels.slot(partition);
        self.router
            .cached_cluster_state()
            .and_then(|state| state.get_server(slot).map(|s| s.to_string()))
    }
}
