//! Occupancy autoscaling on the node: a small set of the example's shape with
//! `spec.autoscale`, load ramped from 10 % to 90 % of one shard's seats with the game
//! client, and dropped again.

use crate::{apply, example_set, get, ms_since, number, rooms, shard_entry};
use anyhow::{Context, Result, ensure};
use roomshard_testkit::local_cluster::LocalCluster;
use roomshard_testkit::node;
use roomshard_testkit::process::wait_until;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The autoscaled set's name.
pub const AUTOSCALED: &str = "lobby";
/// Its seats per shard: 5 rooms of 4.
const SEATS: u64 = 20;
/// `targetOccupancy`, in percent.
const TARGET_PERCENT: u64 = 70;

/// The example with 1 shard of 20 seats, autoscaled between 1 and 3 at 70 % occupancy,
/// a shard fewer after 10 s of needing fewer.
pub fn autoscaled_set() -> Result<String> {
    let text = example_set()?;
    let mut out = String::new();
    for line in text.lines() {
        let replaced = match line.trim() {
            "name: arena" => "  name: lobby".to_owned(),
            "shards: 3" => "  shards: 1".to_owned(),
            "roomsPerShard: 100" => "    roomsPerShard: 5".to_owned(),
            "playersPerRoom: 16" => "    playersPerRoom: 4".to_owned(),
            "heartbeatIntervalSeconds: 2" => format!(
                "{line}\n  autoscale:\n    minShards: 1\n    maxShards: 3\n    targetOccupancy: 0.{TARGET_PERCENT}\n    scaleUpStabilizationSeconds: 0\n    scaleDownDelaySeconds: 10"
            ),
            _ => line.to_owned(),
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    ensure!(
        out.contains("autoscale:") && out.contains("roomsPerShard: 5"),
        "the example changed shape: {out}"
    );
    Ok(out)
}

fn autoscale(cluster: &LocalCluster) -> Value {
    cluster
        .get_json(&["rss", AUTOSCALED, "-n", crate::NAMESPACE])
        .map(|s| s["status"]["autoscale"].clone())
        .unwrap_or_default()
}

/// Ramps the load past the target: a second shard takes reservations soon after; drops
/// it: the set shrinks to one shard through the drain, with no player disconnected
/// before its drain notice, in two decisions.
pub fn autoscale_by_occupancy(cluster: &LocalCluster) -> Result<()> {
    let applied = Instant::now();
    apply(cluster, &autoscaled_set()?)?;
    cluster.wait_for(
        "the autoscaled set's shard through the ingress",
        Duration::from_secs(120),
        |c| {
            number(c, "statefulset", AUTOSCALED, "status.readyReplicas") == 1
                && rooms(c).is_ok_and(|r| shard_entry(&r, 0).is_some_and(|s| s["healthy"] == true))
                && get(c, "/shard/0/socket.io/?EIO=4&transport=polling")
                    .is_ok_and(|a| a.status == 200)
        },
    )?;
    println!(
        "figure: autoscaled set of 1 shard Ready through the ingress after {} ms",
        ms_since(applied)
    );
    let top = SEATS * 9 / 10;
    // The player count that first puts occupancy above the target.
    let cross = SEATS * TARGET_PERCENT / 100;
    let dir = roomshard_testkit::scratch_dir("cluster-ramp")?;
    let players = node::spawn(
        "cluster/ramp.mjs",
        &[
            cluster.ingress_url()?.to_owned(),
            top.to_string(),
            cross.to_string(),
            "2".into(),
            "300".into(),
            dir.to_string_lossy().into_owned(),
        ],
        false,
    )?;
    let up = wait_until(
        "a second shard to take reservations",
        Duration::from_secs(120),
        || {
            std::fs::read_to_string(dir.join("up"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        },
    )?;
    let status = autoscale(cluster);
    let crossed = up["crossedAt"].as_u64().context("no crossing time")?;
    let decided = status["lastScaleMs"]
        .as_u64()
        .context("no scale decision")?;
    let seated = up["seatedAt"].as_u64().context("no seat time")?;
    println!(
        "figure: autoscale up: occupancy {}/{SEATS} crossed {TARGET_PERCENT} %; decided {} ms after, a seat on shard {} {} ms after ({})",
        cross + 1,
        decided.saturating_sub(crossed),
        up["shard"],
        seated.saturating_sub(crossed),
        status["lastDecision"]
    );
    ensure!(
        decided.saturating_sub(crossed) <= 10_000,
        "the scale-up was decided {} ms after the crossing",
        decided.saturating_sub(crossed)
    );
    ensure!(
        number(cluster, "rss", AUTOSCALED, "spec.shards") == 2,
        "the set did not grow to 2 shards: {status}"
    );

    std::fs::write(dir.join("drop"), "drop")?;
    let dropped = Instant::now();
    cluster.wait_for(
        "the set to shrink to minShards",
        Duration::from_secs(180),
        |c| {
            number(c, "rss", AUTOSCALED, "spec.shards") == 1
                && number(c, "statefulset", AUTOSCALED, "status.replicas") == 1
                && !crate::exists(c, crate::NAMESPACE, "pod", "lobby-1")
        },
    )?;
    let shrunk = ms_since(dropped);
    std::fs::write(dir.join("stop"), "stop")?;
    let lines = players.finish(Duration::from_secs(60))?;
    let ramp = lines
        .iter()
        .find_map(|l| l.get("ramp").cloned())
        .context("ramp.mjs printed no summary")?;
    let status = autoscale(cluster);
    println!(
        "figure: autoscale down to 1 shard {shrunk} ms after the load dropped; {} decisions in all; players {ramp}",
        status["decisions"]
    );
    ensure!(
        ramp["unasked"].as_array().is_some_and(Vec::is_empty),
        "players were disconnected before their drain notice: {ramp}"
    );
    ensure!(
        status["decisions"] == 2,
        "the autoscaler flapped (one decision up and one down expected): {status}"
    );
    Ok(())
}
