//! The operator's view of a set's Redis state: heartbeats, the draining set, and the
//! clean-up when a set is deleted. Every call has a deadline; an unreachable Redis is a
//! reported condition, never a hang.

use fred::prelude::{Client, ClientLike, KeysInterface, SetsInterface, SortedSetsInterface};
use fred::types::scan::Scanner;
use futures::StreamExt;
use roomshard_protocol::Keys;
use roomshard_protocol::records::ShardHeartbeat;
pub use roomshard_runtime::redis::RedisError;
use roomshard_runtime::redis::{ClientOptions, RedisTls, within};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// What the operator reads of one set each reconcile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedisView {
    /// Live heartbeats by shard index (expired ones are simply absent).
    pub heartbeats: BTreeMap<u32, ShardHeartbeat>,
    /// Shards in the draining set.
    pub draining: BTreeSet<u32>,
    /// Heartbeat records that could not be decoded (treated as absent).
    pub undecodable: u32,
}

/// Redis clients shared by every set that names the same URL.
pub struct RedisPool {
    clients: Mutex<HashMap<String, Client>>,
    deadline: Duration,
    tls: RedisTls,
}

impl RedisPool {
    pub fn new(deadline: Duration) -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
            deadline,
            tls: RedisTls::default(),
        }
    }

    /// The CA and client certificate of `rediss://` URLs.
    pub fn with_tls(mut self, tls: RedisTls) -> Self {
        self.tls = tls;
        self
    }

    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// A client for `url`, connecting in the background on first use.
    pub async fn client(&self, url: &str) -> Result<SetRedis, RedisError> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(url) {
            return Ok(SetRedis {
                client: client.clone(),
                deadline: self.deadline,
            });
        }
        let deadline = self.deadline;
        // A reconcile that cannot reach Redis reports it at once and tries again later.
        let client = ClientOptions {
            unresponsive_after: Some(deadline.saturating_mul(2)),
            reconnect_delays_ms: (100, 2_000),
            tls: self.tls.clone(),
            ..ClientOptions::new(deadline)
        }
        .connect_in_background(url)?;
        clients.insert(url.to_owned(), client.clone());
        Ok(SetRedis { client, deadline })
    }

    /// Closes every client (at shutdown).
    pub async fn close(&self) {
        let clients: Vec<Client> = self.clients.lock().await.drain().map(|(_, c)| c).collect();
        for client in clients {
            let _ = tokio::time::timeout(self.deadline, client.quit()).await;
        }
    }
}

/// One Redis client with the deadline every call is bound by.
#[derive(Clone)]
pub struct SetRedis {
    client: Client,
    deadline: Duration,
}

impl SetRedis {
    /// Reads the heartbeats of shards `0..shards` and the draining set.
    pub async fn read_view(&self, keys: &Keys, shards: u32) -> Result<RedisView, RedisError> {
        let mut view = RedisView::default();
        if shards > 0 {
            let names: Vec<String> = (0..shards).map(|i| keys.shard(i)).collect();
            let values: Vec<Option<Vec<u8>>> =
                within(self.deadline, "MGET heartbeats", self.client.mget(names)).await?;
            for (i, value) in (0..shards).zip(values) {
                let Some(bytes) = value else { continue };
                match ShardHeartbeat::decode(&bytes) {
                    Ok(hb) if hb.index == i => {
                        view.heartbeats.insert(i, hb);
                    }
                    Ok(hb) => {
                        tracing::warn!(key = %keys.shard(i), index = hb.index, "heartbeat names another shard; ignored");
                        view.undecodable += 1;
                    }
                    Err(e) => {
                        tracing::warn!(key = %keys.shard(i), error = %e, "undecodable heartbeat; treated as absent");
                        view.undecodable += 1;
                    }
                }
            }
        }
        let draining: Vec<String> = within(
            self.deadline,
            "SMEMBERS draining",
            self.client.smembers(keys.draining()),
        )
        .await?;
        view.draining = draining.iter().filter_map(|s| s.parse().ok()).collect();
        Ok(view)
    }

    /// Adds shards to the draining set (matchmaker and workers stop placing seats there).
    pub async fn mark_draining(&self, keys: &Keys, shards: &[u32]) -> Result<(), RedisError> {
        self.change_draining("SADD draining", shards, |members| {
            self.client.sadd(keys.draining(), members)
        })
        .await
    }

    /// Removes shards from the draining set.
    pub async fn unmark_draining(&self, keys: &Keys, shards: &[u32]) -> Result<(), RedisError> {
        self.change_draining("SREM draining", shards, |members| {
            self.client.srem(keys.draining(), members)
        })
        .await
    }

    /// Marks shards draining and replacing (a rollout): no new seats, and their workers
    /// hand their rooms over on the way out.
    pub async fn mark_replacing(&self, keys: &Keys, shards: &[u32]) -> Result<(), RedisError> {
        self.mark_draining(keys, shards).await?;
        self.change_draining("SADD replacing", shards, |members| {
            self.client.sadd(keys.replacing(), members)
        })
        .await
    }

    /// Lifts both marks of [`Self::mark_replacing`].
    pub async fn unmark_replacing(&self, keys: &Keys, shards: &[u32]) -> Result<(), RedisError> {
        self.unmark_draining(keys, shards).await?;
        self.change_draining("SREM replacing", shards, |members| {
            self.client.srem(keys.replacing(), members)
        })
        .await
    }

    /// Sends `shards` as members of a set of shards with `send`; nothing when empty.
    async fn change_draining<F>(
        &self,
        op: &'static str,
        shards: &[u32],
        send: impl FnOnce(Vec<String>) -> F,
    ) -> Result<(), RedisError>
    where
        F: Future<Output = Result<i64, fred::error::Error>>,
    {
        if shards.is_empty() {
            return Ok(());
        }
        let members = shards.iter().map(u32::to_string).collect();
        within(self.deadline, op, send(members)).await.map(drop)
    }

    /// Deletes every key of the set, giving up once `budget` is spent. Returns the number
    /// of keys deleted. The shards and rooms sets name most keys; a SCAN over the set's
    /// scope, every group's hash tag included (acceptable here: deletion is rare and off
    /// every hot path), catches the rest (reservations, idempotency keys, track indices,
    /// and the keys of a release with another layout).
    pub async fn delete_set_state(&self, keys: &Keys, budget: Duration) -> Result<u64, RedisError> {
        let started = Instant::now();
        let over = |op| {
            (started.elapsed() > budget).then_some(RedisError::Timeout {
                op,
                deadline: budget,
            })
        };
        let mut deleted = 0u64;
        let members = |op, key: String| {
            within::<Vec<String>>(
                self.deadline,
                op,
                self.client.zrange(key, 0, -1, None, false, None, false),
            )
        };
        let shards = members("ZRANGE shards", keys.shards()).await?;
        let rooms = members("ZRANGE rooms", keys.rooms()).await?;
        let mut named: Vec<String> = Vec::new();
        for i in shards.iter().filter_map(|s| s.parse::<u32>().ok()) {
            named.push(keys.shard(i));
            named.push(keys.shard_rooms(i));
        }
        for room in &rooms {
            if roomshard_protocol::validate_room_id(room).is_ok() {
                named.push(keys.room(room));
                named.push(keys.room_reservations(room));
            }
        }
        named.extend([
            keys.shards(),
            keys.rooms(),
            keys.draining(),
            keys.lost_rooms(),
        ]);
        deleted += self.delete_by_slot(named, &over).await?;
        // On a cluster, every primary holds some of the set's keys: each is scanned.
        let mut pages = if self.client.is_clustered() {
            self.client
                .scan_cluster(keys.scan_pattern(), Some(500), None)
                .boxed()
        } else {
            self.client
                .scan(keys.scan_pattern(), Some(500), None)
                .boxed()
        };
        loop {
            if let Some(e) = over("SCAN") {
                return Err(e);
            }
            let page = tokio::time::timeout(self.deadline, pages.next())
                .await
                .map_err(|_| RedisError::Timeout {
                    op: "SCAN",
                    deadline: self.deadline,
                })?;
            let Some(page) = page else { break };
            let mut page = page.map_err(|source| RedisError::Failed { op: "SCAN", source })?;
            let found: Vec<String> = page
                .take_results()
                .unwrap_or_default()
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect();
            page.next();
            deleted += self.delete_by_slot(found, &over).await?;
        }
        Ok(deleted)
    }

    /// Deletes `names`, one `DEL` per hash tag (a cluster refuses one command over keys of
    /// several slots) and at most 500 keys each.
    async fn delete_by_slot(
        &self,
        names: Vec<String>,
        over: &impl Fn(&'static str) -> Option<RedisError>,
    ) -> Result<u64, RedisError> {
        let mut by_tag: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for name in names {
            by_tag
                .entry(roomshard_protocol::hash_tag(&name).to_owned())
                .or_default()
                .push(name);
        }
        let mut deleted = 0;
        for group in by_tag.values() {
            for chunk in group.chunks(500) {
                if let Some(e) = over("DEL") {
                    return Err(e);
                }
                deleted +=
                    within::<u64>(self.deadline, "DEL", self.client.del(chunk.to_vec())).await?;
            }
        }
        Ok(deleted)
    }
}
