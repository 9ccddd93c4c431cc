//! The operator's Redis reads and writes against a real redis-server.

use roomshard_operator::redis_state::RedisPool;
use roomshard_protocol::Keys;
use roomshard_testkit::fixtures::{HeartbeatBuilder, write_heartbeat};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::redis_cluster::RedisCluster;
use std::time::{Duration, Instant};

/// One server or a cluster, as the test reaches it: a URL for the operator, commands and
/// every key for the test.
trait Backend {
    fn url(&self) -> String;
    fn port(&self) -> u16;
    fn query(&self, args: &[&str]) -> anyhow::Result<roomshard_testkit::resp::Reply>;
    fn all_keys(&self) -> Vec<String>;
}

impl Backend for RedisServer {
    fn url(&self) -> String {
        self.url()
    }
    fn port(&self) -> u16 {
        self.port()
    }
    fn query(&self, args: &[&str]) -> anyhow::Result<roomshard_testkit::resp::Reply> {
        self.query(args)
    }
    fn all_keys(&self) -> Vec<String> {
        self.query(&["KEYS", "*"]).expect("keys").texts()
    }
}

impl Backend for RedisCluster {
    fn url(&self) -> String {
        self.url()
    }
    fn port(&self) -> u16 {
        self.port()
    }
    fn query(&self, args: &[&str]) -> anyhow::Result<roomshard_testkit::resp::Reply> {
        self.query(args)
    }
    fn all_keys(&self) -> Vec<String> {
        self.all_keys().expect("keys")
    }
}

#[tokio::test]
async fn reads_heartbeats_marks_draining_and_cleans_up() {
    reads_marks_and_cleans_up(RedisServer::start().expect("redis")).await;
}

/// The same on a cluster, where the set's keys spread over every primary.
#[tokio::test]
async fn reads_heartbeats_marks_draining_and_cleans_up_a_cluster() {
    reads_marks_and_cleans_up(RedisCluster::start().expect("cluster")).await;
}

async fn reads_marks_and_cleans_up(redis: impl Backend) {
    let keys = Keys::new("game").expect("keys");
    let other = Keys::new("other").expect("keys");
    for (i, p) in [(0, 3), (2, 0)] {
        let hb = HeartbeatBuilder::new(i, 3).rooms(1).players(p).build();
        write_heartbeat(redis.port(), &keys, &hb, Duration::from_secs(600)).expect("beat");
    }
    let index = keys.track_index("ctf");
    let writes: [&[&str]; 8] = [
        &["SET", &keys.shard(1), "garbage"],
        &["ZADD", &keys.rooms(), "1", "r1"],
        &["HSET", &keys.room("r1"), "shard", "0"],
        &["SET", &keys.idempotency("k"), "x"],
        &["ZADD", &index.free, "3", "r1"],
        // A key of the layout before each group had its own hash tag.
        &["HSET", "roomshard:{game}:room:r0", "shard", "0"],
        &["SET", &other.shard(0), "keep"],
        &["ZADD", &other.track_index("ctf").free, "1", "r9"],
    ];
    for w in writes {
        redis.query(w).unwrap_or_else(|e| panic!("{w:?}: {e}"));
    }

    let pool = RedisPool::new(Duration::from_secs(2));
    let r = pool.client(&redis.url()).await.expect("client");
    let view = r.read_view(&keys, 3).await.expect("view");
    assert_eq!(view.heartbeats.len(), 2);
    assert_eq!(view.heartbeats[&0].players, 3);
    assert_eq!(view.undecodable, 1);

    r.mark_draining(&keys, &[1, 2]).await.expect("sadd");
    assert_eq!(r.read_view(&keys, 3).await.expect("view").draining.len(), 2);
    r.unmark_draining(&keys, &[1]).await.expect("srem");
    let view = r.read_view(&keys, 3).await.expect("view");
    assert_eq!(view.draining.into_iter().collect::<Vec<_>>(), vec![2]);

    let deleted = r
        .delete_set_state(&keys, Duration::from_secs(5))
        .await
        .expect("cleanup");
    assert!(deleted >= 6, "deleted {deleted}");
    let left = redis.all_keys();
    assert!(!left.iter().any(|k| keys.owns(k)), "{left:?}");
    assert!(left.iter().any(|k| other.owns(k)), "{left:?}");
}

#[tokio::test]
async fn frozen_redis_fails_within_the_deadline() {
    let redis = RedisServer::start().expect("redis");
    let keys = Keys::new("game").expect("keys");
    let pool = RedisPool::new(Duration::from_millis(300));
    let r = pool.client(&redis.url()).await.expect("client");
    r.read_view(&keys, 2).await.expect("reachable first");
    redis.freeze().expect("freeze");
    let started = Instant::now();
    let err = r.read_view(&keys, 2).await.expect_err("frozen");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("did not answer"), "{err}");
    let err = r
        .delete_set_state(&keys, Duration::from_secs(1))
        .await
        .expect_err("frozen");
    assert!(err.to_string().contains("Redis"), "{err}");
    redis.thaw().expect("thaw");
}
