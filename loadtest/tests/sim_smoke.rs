//! `roomshard-sim` at a small scale, on a single Redis and on a cluster: 8 shards, a few
//! hundred players through reserve → join → leave, every reservation granted and every seat
//! given back.

use roomshard_loadtest::sim::{Plan, Sim};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::redis_cluster::RedisCluster;
use std::time::Duration;

async fn smoke(url: String) {
    let mut sim = Sim::start(Plan {
        redis_url: url,
        set: "smoke".into(),
        shards: 8,
        rooms_per_shard: 10,
        room_capacity: 8,
        tracks: 4,
        heartbeat: Duration::from_millis(200),
        concurrency: 8,
        redis_timeout: Duration::from_millis(500),
    })
    .await
    .expect("every shard healthy");
    let beats = sim.idle(Duration::from_millis(500)).await;
    assert!(beats.beats >= 8, "{beats:?}");
    assert_eq!(beats.failed, 0);
    let view = sim.refresh_view(3).await.expect("view");
    assert_eq!(view.count, 3);
    let (arrived, online) = sim.arrive(300).await;
    assert!(arrived.failed.is_empty(), "{:?}", arrived.failed);
    assert_eq!(online.len(), 300);
    assert_eq!(arrived.first.count, 300);
    let left = sim.depart(online).await;
    assert!(left.failed.is_empty(), "{:?}", left.failed);
    assert_eq!(left.first.count, 300);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_runs_on_a_single_redis() {
    let redis = RedisServer::start().expect("redis");
    smoke(redis.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_runs_on_a_cluster() {
    let cluster = RedisCluster::start().expect("cluster");
    smoke(cluster.url()).await;
}
