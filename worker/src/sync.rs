//! Room sync between workers: each worker that hosts players of a room publishes, per
//! tick, the changes of its own entities on the room's channel
//! (`roomshard:{S}:room-sync:{room}`), and applies what the others publish to its replica.
//! A worker that starts hosting a room asks the others for a snapshot.

use crate::interest::SyncOp;
use crate::metrics::Metrics;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{EventInterface, PubsubInterface};
use roomshard_protocol::Keys;
use roomshard_runtime::redis::{init_with_deadline, within_counted};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One message on a room's sync channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum SyncMessage {
    /// Changes of the sender's entities since its previous tick (empty: still alive).
    Delta { w: String, ops: Vec<SyncOp> },
    /// The sender started hosting the room: everyone answers with a snapshot.
    SnapshotRequest { w: String },
    /// Every entity the sender owns in the room.
    Snapshot { w: String, ops: Vec<SyncOp> },
}

impl SyncMessage {
    pub fn sender(&self) -> &str {
        match self {
            SyncMessage::Delta { w, .. }
            | SyncMessage::SnapshotRequest { w }
            | SyncMessage::Snapshot { w, .. } => w,
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The channel name of a room.
pub fn channel(keys: &Keys, room: &str) -> String {
    keys.room_sync(room)
}

/// The room a channel belongs to.
pub fn room_of<'a>(keys: &Keys, channel: &'a str) -> Option<&'a str> {
    channel
        .strip_prefix(keys.prefix())?
        .strip_prefix("room-sync:")
}

/// Publishing and subscribing to room channels.
pub struct SyncLink {
    pub worker: String,
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

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn messages(&self) -> tokio::sync::broadcast::Receiver<fred::types::Message> {
        self.subscriber.message_rx()
    }

    /// Queues a message; never waits. A full queue drops it (counted).
    pub fn publish(&self, room: &str, msg: &SyncMessage) {
        if self
            .outbox
            .try_send((channel(&self.keys, room), msg.encode()))
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
            self.subscriber.subscribe(channel(&self.keys, room)),
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
            self.subscriber.unsubscribe(channel(&self.keys, room)),
        )
        .await
        {
            tracing::warn!(room, error = %e, "unsubscribing from room sync failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_compactly() {
        let msg = SyncMessage::Delta {
            w: "w1".into(),
            ops: vec![
                SyncOp {
                    id: "a".into(),
                    x: Some(1.5),
                    y: Some(2.0),
                    name: None,
                    gone: false,
                },
                SyncOp {
                    id: "b".into(),
                    x: None,
                    y: None,
                    name: None,
                    gone: true,
                },
            ],
        };
        let text = msg.encode();
        assert_eq!(
            text,
            r#"{"k":"delta","w":"w1","ops":[{"id":"a","x":1.5,"y":2.0},{"id":"b","gone":true}]}"#
        );
        assert_eq!(SyncMessage::decode(text.as_bytes()).expect("decodes"), msg);
        assert!(SyncMessage::decode(b"{\"k\":\"nope\"}").is_err());
    }

    #[test]
    fn channels_name_their_room() {
        let keys = Keys::new("s").expect("keys");
        let chan = channel(&keys, "r-1");
        assert_eq!(chan, "roomshard:{s}:room-sync:r-1");
        assert_eq!(room_of(&keys, &chan), Some("r-1"));
        assert_eq!(room_of(&keys, "roomshard:{t}:room-sync:r-1"), None);
    }
}
