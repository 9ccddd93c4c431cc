//! Room sync between workers, over Redis pub/sub: each worker that hosts players of a room
//! publishes, per tick, the changes of its own entities on the room's channel
//! (`roomshard:{S}:room-sync:{room}`, [`Keys::room_sync`]), and applies what the others
//! publish to its replica. A worker that starts hosting a room asks the others for a
//! snapshot. The messages are `protocol::room_sync`'s; this module moves them: a queue
//! that publishes without waiting, the subscriptions, and [`Incoming`], the decoded
//! messages of the other workers.

use crate::attached::{Attached, Bins};
use crate::metrics::Metrics;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{EventInterface, PubsubInterface};
use roomshard_protocol::Keys;
use roomshard_protocol::room_sync::{Attachment, SyncMessage, SyncOp, room_of_channel};
use roomshard_runtime::redis::{init_with_deadline, within_counted};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Publishing and subscribing to room channels.
pub struct SyncLink {
    /// This worker's name on the channels (unique per process).
    worker: String,
    keys: Keys,
    subscriber: SubscriberClient,
    outbox: mpsc::Sender<(String, String)>,
    timeout: Duration,
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
        keys: Keys,
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
        // Everything queued goes out in one pipeline: a tick publishes a delta per room,
        // and waiting for each reply before sending the next held the last room of a
        // tick back by one round trip per room before it.
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(PUBLISH_BATCH);
            while rx.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
                let sent = batch.len() as u64;
                let pipeline = client.pipeline();
                for (chan, payload) in batch.drain(..) {
                    // Queues the command in memory; nothing is sent yet.
                    let _: Result<(), _> = pipeline.publish(chan, payload).await;
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
        Ok(Self {
            worker,
            keys,
            subscriber,
            outbox,
            timeout,
            metrics,
        })
    }

    /// The messages other workers publish from now on, on the channels subscribed to.
    pub fn incoming(&self) -> Incoming {
        Incoming {
            rx: self.subscriber.message_rx(),
            keys: self.keys.clone(),
            worker: self.worker.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// Queues the changes of this worker's entities in `room` (empty: still here).
    pub fn publish_delta(&self, room: &str, ops: Vec<SyncOp>) {
        let w = self.worker.clone();
        self.publish(room, &SyncMessage::Delta { w, ops });
    }

    /// Queues every entity this worker owns in `room`.
    pub fn publish_snapshot(&self, room: &str, ops: Vec<SyncOp>) {
        let w = self.worker.clone();
        self.publish(room, &SyncMessage::Snapshot { w, ops });
    }

    /// Queues a room event (`data` without its `seq`) for the other workers' players.
    pub fn publish_event(&self, room: &str, event: &str, data: serde_json::Value, bins: &Bins) {
        let (w, e, b) = (self.worker.clone(), event.to_owned(), attachments(bins));
        self.publish(room, &SyncMessage::Event { w, e, d: data, b });
    }

    /// Queues a `nearby` custom event of the player `from` for the other workers.
    pub fn publish_nearby(&self, room: &str, event: &str, from: &str, msg: &Attached) {
        let (w, e, from) = (self.worker.clone(), event.to_owned(), from.to_owned());
        let (d, b) = (msg.json.clone(), attachments(&msg.bins));
        self.publish(room, &SyncMessage::Nearby { w, e, from, d, b });
    }

    /// Queues a `player` custom event for the player `to`, connected to another worker.
    pub fn publish_direct(&self, room: &str, event: &str, to: &str, msg: &Attached) {
        let (w, e, to) = (self.worker.clone(), event.to_owned(), to.to_owned());
        let (d, b) = (msg.json.clone(), attachments(&msg.bins));
        self.publish(room, &SyncMessage::Direct { w, e, to, d, b });
    }

    /// Asks the other workers hosting `room` for their snapshots.
    pub fn request_snapshots(&self, room: &str) {
        let w = self.worker.clone();
        self.publish(room, &SyncMessage::SnapshotRequest { w });
    }

    /// Queues a message; never waits. A full queue drops it (counted).
    fn publish(&self, room: &str, msg: &SyncMessage) {
        if self
            .outbox
            .try_send((self.keys.room_sync(room), msg.encode()))
            .is_err()
        {
            self.metrics.sync_dropped.inc();
        }
    }

    pub async fn subscribe(&self, room: &str) -> bool {
        within_counted(
            self.timeout,
            &self.metrics.redis_errors,
            "sync_subscribe",
            self.subscriber.subscribe(self.keys.room_sync(room)),
        )
        .await
        .map_err(|e| tracing::warn!(room, error = %e, "subscribing to room sync failed"))
        .is_ok()
    }

    pub async fn unsubscribe(&self, room: &str) {
        if let Err(e) = within_counted(
            self.timeout,
            &self.metrics.redis_errors,
            "sync_unsubscribe",
            self.subscriber.unsubscribe(self.keys.room_sync(room)),
        )
        .await
        {
            tracing::warn!(room, error = %e, "unsubscribing from room sync failed");
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
    keys: Keys,
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
            let Some(room) = room_of_channel(&self.keys, &msg.channel) else {
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
