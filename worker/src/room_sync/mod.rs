//! Room sync between workers, over Redis sharded pub/sub: each worker that hosts players of
//! a room publishes (`SPUBLISH`), per tick, the changes of its own entities on the room's
//! channel (`roomshard:{S:sync:K}:room:{room}`, [`SyncChannels`]), and applies what the
//! others publish to its replica. Presence, chat and `room` events travel on the same
//! channel. A worker that starts hosting a room asks the others for a snapshot. The
//! messages are `protocol::room_sync`'s; this module moves them: a queue that publishes
//! without waiting, the subscriptions ([`subscriptions`]), and [`Incoming`], the decoded
//! messages of the other workers.
//!
//! Sharded pub/sub runs on a single Redis 7 server as well as on a cluster, so both run
//! this code; on a cluster each message is handled by the one node that owns the room's
//! partition, and reaches only the workers subscribed there.

mod subscriptions;

use crate::attached::{Attached, Bins};
use crate::metrics::Metrics;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{EventInterface, PubsubInterface};
use roomshard_protocol::SyncChannels;
use roomshard_protocol::room_sync::{Attachment, SyncMessage, SyncOp};
use roomshard_runtime::redis::{init_with_deadline, within_counted};
use std::sync::Arc;
use std::time::Duration;
use subscriptions::{Subscriptions, WATCH_EVERY};
use tokio::sync::{broadcast, mpsc};

/// Publishing and subscribing to room channels.
pub struct SyncLink {
    publisher: Publisher,
    subscriber: SubscriberClient,
    subscriptions: Arc<Subscriptions>,
}

/// The queue of messages to publish; never waits.
#[derive(Clone)]
struct Publisher {
    /// This worker's name on the channels (unique per process).
    worker: String,
    channels: SyncChannels,
    outbox: mpsc::Sender<(String, String)>,
    metrics: Arc<Metrics>,
}

/// Messages waiting to be published before new ones are dropped (and counted).
const OUTBOX: usize = 4096;
/// Most publishes sent in one pipeline.
const PUBLISH_BATCH: usize = 256;

impl SyncLink {
    /// Connects the subscriber and starts the publisher task.
    pub async fn start(
        worker: String,
        channels: SyncChannels,
        client: Client,
        subscriber: SubscriberClient,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        init_with_deadline(&subscriber, Duration::from_secs(30)).await?;
        // Re-subscribes to every channel after a reconnection.
        let _resubscriber = subscriber.manage_subscriptions();
        let (outbox, mut rx) = mpsc::channel::<(String, String)>(OUTBOX);
        let publisher_metrics = metrics.clone();
        let publishing = client.clone();
        // Everything queued goes out in one pipeline: a tick publishes a delta per room,
        // and waiting for each reply before sending the next held the last room of a
        // tick back by one round trip per room before it.
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(PUBLISH_BATCH);
            while rx.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
                let sent = batch.len() as u64;
                let pipeline = publishing.pipeline();
                for (chan, payload) in batch.drain(..) {
                    // Queues the command in memory; nothing is sent yet.
                    let _: Result<(), _> = pipeline.spublish(chan, payload).await;
                }
                if within_counted(
                    timeout,
                    &publisher_metrics.redis_errors,
                    "sync_publish",
                    pipeline.last::<i64>(),
                )
                .await
                .is_err()
                {
                    publisher_metrics.sync_dropped.inc_by(sent);
                }
            }
        });
        let subscriptions = Arc::new(Subscriptions::new(
            channels.clone(),
            subscriber.clone(),
            client,
            timeout,
            metrics.clone(),
        ));
        let publisher = Publisher {
            worker,
            channels,
            outbox,
            metrics,
        };
        if subscriptions.clustered() {
            tokio::spawn(follow_moves(subscriptions.clone(), publisher.clone()));
        }
        Ok(Self {
            publisher,
            subscriber,
            subscriptions,
        })
    }

    /// The messages other workers publish from now on, on the channels subscribed to.
    pub fn incoming(&self) -> Incoming {
        Incoming {
            rx: self.subscriber.message_rx(),
            channels: self.subscriptions.channels().clone(),
            worker: self.publisher.worker.clone(),
            metrics: self.publisher.metrics.clone(),
        }
    }

    /// Queues the changes of this worker's entities in `room` (empty: still here).
    pub fn publish_delta(&self, room: &str, ops: Vec<SyncOp>) {
        let w = self.publisher.worker.clone();
        self.publisher.publish(room, &SyncMessage::Delta { w, ops });
    }

    /// Queues every entity this worker owns in `room`.
    pub fn publish_snapshot(&self, room: &str, ops: Vec<SyncOp>) {
        let w = self.publisher.worker.clone();
        self.publisher
            .publish(room, &SyncMessage::Snapshot { w, ops });
    }

    /// Queues a room event (`data` without its `seq`) for the other workers' players.
    pub fn publish_event(&self, room: &str, event: &str, data: serde_json::Value, bins: &Bins) {
        let (w, e, b) = (
            self.publisher.worker.clone(),
            event.to_owned(),
            attachments(bins),
        );
        self.publisher
            .publish(room, &SyncMessage::Event { w, e, d: data, b });
    }

    /// Queues a `nearby` custom event of the player `from` for the other workers.
    pub fn publish_nearby(&self, room: &str, event: &str, from: &str, msg: &Attached) {
        let (w, e, from) = (
            self.publisher.worker.clone(),
            event.to_owned(),
            from.to_owned(),
        );
        let (d, b) = (msg.json.clone(), attachments(&msg.bins));
        self.publisher
            .publish(room, &SyncMessage::Nearby { w, e, from, d, b });
    }

    /// Queues a `player` custom event for the player `to`, connected to another worker.
    pub fn publish_direct(&self, room: &str, event: &str, to: &str, msg: &Attached) {
        let (w, e, to) = (
            self.publisher.worker.clone(),
            event.to_owned(),
            to.to_owned(),
        );
        let (d, b) = (msg.json.clone(), attachments(&msg.bins));
        self.publisher
            .publish(room, &SyncMessage::Direct { w, e, to, d, b });
    }

    /// Asks the other workers hosting `room` for their snapshots.
    pub fn request_snapshots(&self, room: &str) {
        let w = self.publisher.worker.clone();
        self.publisher
            .publish(room, &SyncMessage::SnapshotRequest { w });
    }

    /// Subscribes to `room`'s channel; false when Redis did not confirm it in time.
    pub async fn subscribe(&self, room: &str) -> bool {
        self.subscriptions.add(room).await
    }

    pub async fn unsubscribe(&self, room: &str) {
        self.subscriptions.remove(room).await;
    }
}

impl Publisher {
    /// Queues a message; never waits. A full queue drops it (counted).
    fn publish(&self, room: &str, msg: &SyncMessage) {
        if self
            .outbox
            .try_send((self.channels.channel(room), msg.encode()))
            .is_err()
        {
            self.metrics.sync_dropped.inc();
        }
    }
}

/// Follows the room partitions in use when their slots move, until the process ends, and
/// asks for snapshots of the rooms whose messages may have been lost meanwhile.
async fn follow_moves(subscriptions: Arc<Subscriptions>, publisher: Publisher) {
    let mut every = tokio::time::interval(WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        for room in subscriptions.follow_moves().await {
            let w = publisher.worker.clone();
            publisher.publish(&room, &SyncMessage::SnapshotRequest { w });
        }
    }
}

/// Attachments as room sync carries them.
fn attachments(bins: &Bins) -> Vec<Attachment> {
    bins.iter().map(|b| Attachment(b.to_vec())).collect()
}

/// Attachments as room sync carried them, back in the form events are sent in.
pub fn bins_of(attachments: Vec<Attachment>) -> Bins {
    attachments
        .into_iter()
        .map(|a| bytes::Bytes::from(a.0))
        .collect()
}

/// The room sync messages of the other workers, decoded.
pub struct Incoming {
    rx: broadcast::Receiver<fred::types::Message>,
    channels: SyncChannels,
    worker: String,
    metrics: Arc<Metrics>,
}

impl Incoming {
    /// The next message another worker published: its room, and the message. Messages
    /// that cannot be decoded are logged and skipped, the worker's own are skipped, and
    /// those lost because this receiver fell behind are counted. None once the subscriber
    /// is gone.
    pub async fn next(&mut self) -> Option<(String, SyncMessage)> {
        loop {
            let msg = match self.rx.recv().await {
                Ok(m) => m,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    self.metrics.sync_dropped.inc_by(n);
                    tracing::warn!(lost = n, "room sync receiver fell behind");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let Some(room) = self.channels.room_of(&msg.channel) else {
                continue;
            };
            let Some(bytes) = msg.value.as_bytes() else {
                continue;
            };
            match SyncMessage::decode(bytes) {
                Ok(m) if m.sender() == self.worker => {}
                Ok(m) => return Some((room.to_owned(), m)),
                Err(e) => tracing::warn!(room, error = %e, "undecodable room sync message"),
            }
        }
    }
}
