//! `roomshard-sim`: many simulated shards against one Redis (or Redis Cluster), with no
//! sockets; see `roomshard_loadtest::sim`. Prints one JSON report: the heartbeats alone,
//! the shard view's read time, then the players' arrivals (reserve, join) and departures.

use anyhow::Result;
use clap::Parser;
use roomshard_loadtest::sim::{Plan, Sim};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "roomshard-sim", version, about)]
struct Args {
    /// Redis (`redis://…`) or Redis Cluster (`redis-cluster://…`) to run against.
    #[arg(long, env = "REDIS_URL")]
    redis_url: String,
    /// Set the simulated shards belong to; its keys are left for the set's owner to
    /// remove (the shards take themselves out of the registry at the end).
    #[arg(long, default_value = "sim")]
    set: String,
    #[arg(long, default_value_t = 1024)]
    shards: u32,
    #[arg(long, default_value_t = 100)]
    rooms_per_shard: u32,
    #[arg(long, default_value_t = 16)]
    room_capacity: u32,
    /// Tracks the players spread over.
    #[arg(long, default_value_t = 64)]
    tracks: u32,
    /// Players who reserve, join and finally leave.
    #[arg(long, default_value_t = 100_000)]
    players: u64,
    /// Players reserving at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 2000)]
    heartbeat_ms: u64,
    #[arg(long, default_value_t = 500)]
    redis_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let heartbeat = Duration::from_millis(args.heartbeat_ms);
    let mut sim = Sim::start(Plan {
        redis_url: args.redis_url,
        set: args.set,
        shards: args.shards,
        rooms_per_shard: args.rooms_per_shard,
        room_capacity: args.room_capacity,
        tracks: args.tracks,
        heartbeat,
        concurrency: args.concurrency,
        redis_timeout: Duration::from_millis(args.redis_timeout_ms),
    })
    .await?;
    let heartbeats = sim.idle(heartbeat.saturating_mul(2)).await;
    let view = sim.refresh_view(20).await?;
    let (arrivals, online) = sim.arrive(args.players).await;
    let departures = sim.depart(online).await;
    sim.stop().await;
    let report = serde_json::json!({
        "heartbeats": heartbeats,
        "shard_view_read": view,
        "arrivals": arrivals,
        "departures": departures,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
