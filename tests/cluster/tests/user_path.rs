//! The user's whole path on a real node (hack/cluster-up.sh): `helm install` the chart with
//! its development Redis, `kubectl apply` the example set, play from outside through the
//! ingress with the official Socket.IO client, roll out a new image (and a broken one),
//! scale down with players on the shard that goes, kill a worker's process, delete the
//! set, autoscale a second set by occupancy, delete it too and `helm uninstall`. Then
//! nothing of the cluster is left.
//! The figures a release note quotes are printed as `figure:` lines.

use anyhow::{Context, Result, ensure};
use roomshard_cluster_tests::autoscale::{AUTOSCALED, autoscale_by_occupancy};
use roomshard_cluster_tests::*;
use roomshard_protocol::Keys;
use roomshard_testkit::local_cluster::{self, LocalCluster};
use roomshard_testkit::node;
use roomshard_testkit::process::wait_until;
use std::time::{Duration, Instant};

/// The example's heartbeat interval.
const HEARTBEAT_SECONDS: u64 = 2;

#[test]
fn the_users_path_on_a_real_node() -> Result<()> {
    let outcome = LocalCluster::up().and_then(|cluster| {
        let run = walk(&cluster);
        if run.is_err() {
            eprintln!("{}", cluster.describe());
        }
        let down = cluster.down();
        run.and(down)
    });
    let left = local_cluster::leftovers()?;
    ensure!(left.is_empty(), "the cluster left behind:\n{left}");
    outcome
}

fn walk(cluster: &LocalCluster) -> Result<()> {
    load_images(cluster)?;
    install_chart(cluster)?;
    cluster.kubectl(&["create", "namespace", NAMESPACE])?;

    // Install: every shard and matchmaker pod Ready.
    let applied = Instant::now();
    apply(cluster, &example_set()?)?;
    cluster.wait_for(
        "3 ready shards and 2 matchmakers",
        Duration::from_secs(180),
        |c| {
            number(c, "statefulset", SET, "status.readyReplicas") == 3
                && number(c, "deployment", "arena-matchmaker", "status.readyReplicas") == 2
        },
    )?;
    println!(
        "figure: kubectl apply to every shard Ready: {} ms",
        ms_since(applied)
    );
    ensure!(
        exists(cluster, NAMESPACE, "ingress", SET),
        "the set has no Ingress"
    );
    ensure!(
        exists(cluster, NAMESPACE, "service", SET),
        "the client Service is gone"
    );
    cluster.wait_for(
        "three healthy shards through the ingress",
        Duration::from_secs(60),
        |c| {
            rooms(c).is_ok_and(|r| {
                (0..3).all(|i| shard_entry(&r, i).is_some_and(|s| s["healthy"] == true))
            })
        },
    )?;
    // And the ingress routes to each (it follows the pods' readiness a moment later), so
    // the figures below are a running set's, not its start's.
    cluster.wait_for(
        "the ingress to route to every shard",
        Duration::from_secs(60),
        |c| {
            (0..3).all(|i| {
                get(c, &format!("/shard/{i}/socket.io/?EIO=4&transport=polling"))
                    .is_ok_and(|a| a.status == 200)
            })
        },
    )?;

    play_from_outside(cluster)?;
    roll_out_a_new_image(cluster)?;
    scale_down_with_players(cluster)?;
    kill_a_worker(cluster)?;
    delete(cluster, SET)?;
    autoscale_by_occupancy(cluster)?;
    delete(cluster, AUTOSCALED)?;
    uninstall(cluster)
}

fn play_from_outside(cluster: &LocalCluster) -> Result<()> {
    let lines = node::run(
        "cluster/play.mjs",
        &[cluster.ingress_url()?.to_owned(), "4".into()],
        Duration::from_secs(120),
    )?;
    let reserved = node::check(&lines, "reserved");
    let shards = reserved["shards"].as_array().map_or(0, Vec::len);
    ensure!(shards >= 2, "players all landed on one shard: {reserved}");
    let base = cluster.ingress_url()?.replace("http://", "ws://");
    for url in reserved["urls"].as_array().into_iter().flatten() {
        let url = url.as_str().unwrap_or_default();
        ensure!(
            url.starts_with(&format!("{base}/shard/")),
            "{url} is not a shard URL on the ingress"
        );
    }
    let first: Vec<u64> = node::check(&lines, "joined")["firstViewMs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_u64)
        .collect();
    ensure!(
        first.len() == 8,
        "not every player got a first view: {first:?}"
    );
    println!(
        "figure: reserve to first view from outside: median {} ms, max {} ms",
        median(&first),
        first.iter().max().copied().unwrap_or(0)
    );
    node::check(&lines, "pairs_see_each_other");
    node::check(&lines, "moves_arrive");
    assert_eq!(node::check(&lines, "chat_arrives"), "hello from outside");
    // Only Socket.IO is public: a shard's metrics and demo page are not on the way in.
    for path in ["/shard/0/metrics", "/shard/0/demo", "/shard/0/readyz"] {
        let status = get(cluster, path)?.status;
        ensure!(
            status == 404,
            "{path} answered {status} through the ingress"
        );
    }
    let listed = node::check(&lines, "rooms_listed");
    ensure!(listed["shards"] == 3, "GET /rooms: {listed}");

    // kubectl get rss shows the set's columns with real numbers while players are on.
    let (held, _) = hold(cluster, 0, 1, 60)?;
    cluster.wait_for(
        "kubectl get rss to count a player",
        Duration::from_secs(30),
        |c| number(c, "rss", SET, "status.players") >= 1,
    )?;
    let table = cluster.kubectl(&["get", "rss", "-n", NAMESPACE])?;
    println!("kubectl get rss:\n{table}");
    let mut rows = table.lines();
    let head: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    for column in ["NAME", "SHARDS", "READY", "ROOMS", "PLAYERS", "AGE"] {
        ensure!(
            head.contains(&column),
            "kubectl get rss lacks {column}: {table}"
        );
    }
    let row: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    ensure!(
        row.get(1) == Some(&"3") && row.get(2) == Some(&"3"),
        "{table}"
    );
    drop(held);
    Ok(())
}

/// Players on shard 2 when the set goes to two shards: told to move, kept until the drain
/// timeout, then the pod is terminated within its grace period; shards 0 and 1 go on.
fn scale_down_with_players(cluster: &LocalCluster) -> Result<()> {
    let drain_seconds = example_drain_seconds()?;
    let kept_pods = pod_uids(cluster, &["arena-0", "arena-1"])?;
    let (held, _) = hold(cluster, 2, 2, drain_seconds * 3 + 30)?;
    let ready = Instant::now();
    let scaled = Instant::now();
    cluster.kubectl(&["scale", "rss/arena", "-n", NAMESPACE, "--replicas=2"])?;
    cluster.wait_for(
        "the StatefulSet to shrink",
        Duration::from_secs(drain_seconds * 3 + 30),
        |c| {
            number(c, "statefulset", SET, "spec.replicas") == 2
                && !exists(c, NAMESPACE, "pod", "arena-2")
        },
    )?;
    let gone = ms_since(scaled);
    let lines = held.finish(Duration::from_secs(30))?;
    // The script's clock: its last join is when it was ready, so `kubectl scale` ran at
    // that time plus what passed here between the two.
    let at = |key: &str| -> Vec<u64> {
        lines
            .iter()
            .filter(|l| l.get(key).is_some())
            .filter_map(|l| l["at"].as_u64())
            .collect()
    };
    let scale_at = at("joined").into_iter().max().unwrap_or(0)
        + u64::try_from(scaled.duration_since(ready).as_millis())?;
    let after_scale = |v: &[u64]| {
        v.iter()
            .min()
            .copied()
            .unwrap_or(0)
            .saturating_sub(scale_at)
    };
    let (drained, disconnected) = (at("draining"), at("disconnected"));
    ensure!(
        drained.len() >= 2,
        "not every player got the drain notice: {lines:?}"
    );
    ensure!(
        disconnected.len() == 2,
        "not every player was disconnected: {lines:?}"
    );
    let held_ms = after_scale(&disconnected);
    println!(
        "figure: scale-down with players: drain notice {} ms after kubectl scale, first disconnect {held_ms} ms after it (drain timeout {drain_seconds} s), pod gone {gone} ms after it",
        after_scale(&drained),
    );
    // The pod goes when the drain ends, its SIGTERM handled well inside the grace period
    // (the drain timeout and a margin).
    ensure!(
        gone < u128::from(drain_seconds * 2 + 15) * 1000,
        "shard 2's pod took {gone} ms to go"
    );
    ensure!(
        u128::from(held_ms) >= u128::from(drain_seconds) * 1000,
        "a player was disconnected {held_ms} ms after the scale-down, before the drain timeout"
    );
    ensure!(
        pod_uids(cluster, &["arena-0", "arena-1"])? == kept_pods,
        "shards 0 and 1 were restarted by the scale-down"
    );
    ensure!(
        !exists(cluster, NAMESPACE, "service", "arena-shard-2"),
        "shard 2's Service stayed"
    );
    Ok(())
}

/// SIGKILL to shard 1's worker: its heartbeat goes, no reservation goes to it, the kubelet
/// restarts it, and the new process leaves no ghost players or rooms.
fn kill_a_worker(cluster: &LocalCluster) -> Result<()> {
    let keys = Keys::scoped(Some(NAMESPACE), SET)?;
    let heartbeat = keys.shard(1);
    let started_at = |c: &LocalCluster| -> Option<u64> {
        let record = redis_cli(c, &["GET", &heartbeat]).ok()?;
        serde_json::from_str::<serde_json::Value>(record.trim()).ok()?["started_at"].as_u64()
    };
    // Three players of the game client on shard 1.
    let ready = roomshard_testkit::scratch_dir("cluster-crash")?.join("ready");
    let players = node::spawn(
        "cluster/crash.mjs",
        &[
            cluster.ingress_url()?.to_owned(),
            "1".into(),
            "3".into(),
            "120".into(),
            ready.to_string_lossy().into_owned(),
        ],
        false,
    )?;
    let held_rooms: Vec<String> =
        wait_until("3 players on shard 1", Duration::from_secs(60), || {
            std::fs::read_to_string(&ready)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        })?["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
    ensure!(held_rooms.len() == 3, "the players joined no rooms");
    let dead = started_at(cluster).context("shard 1 has no heartbeat")?;
    let id = container_id(cluster, "arena-1")?;
    let killed = Instant::now();
    let killed_ms = epoch_ms();
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(cluster.containerd_socket())
        .args(["-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", &id])
        .output()?;
    ensure!(
        out.status.success(),
        "ctr tasks kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The dead process's heartbeat goes: expired, or replaced by the next process's.
    let gone = wait_until(
        "the killed process's heartbeat to go",
        Duration::from_secs(HEARTBEAT_SECONDS * 3 + 10),
        || (started_at(cluster) != Some(dead)).then_some(()),
    );
    let lost_ms = ms_since(killed);
    gone?;
    ensure!(
        lost_ms <= u128::from(HEARTBEAT_SECONDS * 3) * 1000 + 1500,
        "the killed process's heartbeat stayed {lost_ms} ms"
    );
    // Every player is told its room is lost (the matchmaker no longer has it, or the
    // restarted process refuses the resume: the rooms died with the process), within three
    // heartbeat intervals, and the client takes a new seat.
    let lines = players.finish(Duration::from_secs(90))?;
    let outcomes = lines
        .iter()
        .find_map(|l| l.get("outcomes").cloned())
        .context("crash.mjs printed no outcomes")?;
    let after = |field: &str| -> Vec<u64> {
        outcomes
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["outcome"]["event"] == "rejoined")
            .filter_map(|o| o[field]["at"].as_u64())
            .map(|at| at.saturating_sub(killed_ms))
            .collect()
    };
    let (told, seated) = (after("told"), after("outcome"));
    let slowest = told.iter().max().copied().unwrap_or(u64::MAX);
    cluster.wait_for(
        "the kubelet to restart shard 1",
        Duration::from_secs(90),
        |c| {
            c.get_json(&["pod", "arena-1", "-n", NAMESPACE])
                .is_ok_and(|p| {
                    let s = &p["status"]["containerStatuses"][0];
                    s["restartCount"].as_i64().unwrap_or(0) >= 1 && s["ready"] == true
                })
        },
    )?;
    println!(
        "figure: worker killed: its heartbeat gone after {lost_ms} ms (interval {HEARTBEAT_SECONDS} s), its players told their room is lost after {told:?} ms and seated again after {seated:?} ms, the pod Ready again after {} ms",
        ms_since(killed)
    );
    ensure!(
        told.len() == 3 && seated.len() == 3,
        "not every player was told and seated again: {outcomes}"
    );
    ensure!(
        slowest <= HEARTBEAT_SECONDS * 3 * 1000,
        "a player was told after {slowest} ms, more than 3 heartbeat intervals"
    );
    // From then on every seat is one a live process takes: each reservation is joined.
    let reserves = node::run(
        "cluster/reserve-many.mjs",
        &[cluster.ingress_url()?.to_owned(), "20".into()],
        Duration::from_secs(60),
    )?;
    let by_shard = node::check(&reserves, "shards");
    println!("figure: 20 reservations after the restart, all joined: {by_shard}");
    // No ghost: the killed process's rooms, their players gone, are closed and unlisted.
    for room in &held_rooms {
        cluster.wait_for(
            &format!("the killed process's room {room} to close"),
            Duration::from_secs(30),
            |c| {
                redis_cli(c, &["SISMEMBER", &keys.shard_rooms(1), room])
                    .is_ok_and(|n| n.trim() == "0")
                    && rooms(c).is_ok_and(|r| {
                        r["rooms"]
                            .as_array()
                            .is_some_and(|all| !all.iter().any(|x| x["room"] == room.as_str()))
                    })
            },
        )?;
    }
    Ok(())
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The rollout's status field at `path` (under `status.rollout`).
fn rollout(cluster: &LocalCluster) -> serde_json::Value {
    cluster
        .get_json(&["rss", SET, "-n", NAMESPACE])
        .map(|s| s["status"]["rollout"].clone())
        .unwrap_or_default()
}

fn set_image(cluster: &LocalCluster, image: &str, pull: &str) -> Result<()> {
    let patch = serde_json::json!({"spec": {"image": image, "imagePullPolicy": pull}});
    cluster.kubectl(&[
        "patch",
        &format!("rss/{SET}"),
        "-n",
        NAMESPACE,
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ])?;
    Ok(())
}

/// A new image rolls out a shard at a time while 200 players sit in 20 rooms: each shard
/// hands its rooms to its new pod and every session resumes. The same players then sit
/// through a broken image: its canary cannot start, so the rollout halts with every shard
/// untouched, and going back to the working image lifts the halt.
fn roll_out_a_new_image(cluster: &LocalCluster) -> Result<()> {
    let next = format!("{IMAGE_REPOSITORY}:next");
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(cluster.containerd_socket())
        .args(["-n", "k8s.io", "images", "tag", "--force"])
        .arg(format!("{IMAGE_REPOSITORY}:{IMAGE_TAG}"))
        .arg(&next)
        .output()?;
    ensure!(
        out.status.success(),
        "ctr images tag: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let on_image = |c: &LocalCluster, image: &str| {
        (0..3).all(|i| {
            c.get_json(&["pod", &format!("{SET}-{i}"), "-n", NAMESPACE])
                .is_ok_and(|p| {
                    p["spec"]["containers"][0]["image"] == image
                        && p["status"]["containerStatuses"][0]["ready"] == true
                })
        })
    };
    // 200 players in 20 rooms over the 3 shards sit through both.
    let dir = roomshard_testkit::scratch_dir("cluster-roll")?;
    let (ready, stop) = (dir.join("ready"), dir.join("stop"));
    let players = node::spawn(
        "cluster/roll.mjs",
        &[
            cluster.ingress_url()?.to_owned(),
            "200".into(),
            "20".into(),
            "700".into(),
            ready.to_string_lossy().into_owned(),
            stop.to_string_lossy().into_owned(),
        ],
        false,
    )?;
    let placed = wait_until("200 players seated", Duration::from_secs(120), || {
        std::fs::read_to_string(&ready)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    })?;
    ensure!(
        placed["shards"] == 3,
        "the players are not on every shard: {placed}"
    );
    let started = Instant::now();
    set_image(cluster, &next, "IfNotPresent")?;
    cluster.wait_for(
        "every shard on the new image",
        Duration::from_secs(240),
        |c| {
            on_image(c, &next) && {
                let r = rollout(c);
                r["updated"] == 3 && r["shard"].is_null()
            }
        },
    )?;
    let took = ms_since(started);
    cluster.wait_for("three healthy shards", Duration::from_secs(60), |c| {
        rooms(c)
            .is_ok_and(|r| (0..3).all(|i| shard_entry(&r, i).is_some_and(|s| s["healthy"] == true)))
    })?;
    // Every player is back before the broken image (the set may still count players of
    // the earlier steps that are away).
    cluster.wait_for("the players to settle", Duration::from_secs(60), |c| {
        number(c, "rss", SET, "status.players") >= 200
    })?;
    println!("figure: rollout of 3 shards with 200 players in 20 rooms: {took} ms");

    // A broken image (absent, never pulled): its canary cannot start and the rollout halts
    // before any shard is drained.
    let shards = ["arena-0", "arena-1", "arena-2"];
    let uids = pod_uids(cluster, &shards)?;
    let broken = format!("{IMAGE_REPOSITORY}:absent");
    let started = Instant::now();
    set_image(cluster, &broken, "Never")?;
    cluster.wait_for("the rollout to halt", Duration::from_secs(120), |c| {
        rollout(c)["halted"].is_string()
    })?;
    let halted = rollout(cluster);
    println!(
        "figure: a broken image halted the rollout after {} ms: {}",
        ms_since(started),
        halted["halted"]
    );
    ensure!(
        halted["phase"] == "Proving"
            && halted["halted"]
                .as_str()
                .is_some_and(|h| h.contains("canary")),
        "the rollout halted elsewhere than at its canary: {halted}"
    );
    ensure!(
        pod_uids(cluster, &shards)? == uids && on_image(cluster, &next),
        "the halted rollout touched a shard"
    );
    let keys = Keys::scoped(Some(NAMESPACE), SET)?;
    let draining = redis_cli(cluster, &["SMEMBERS", &keys.draining()])?;
    ensure!(
        draining.trim().is_empty(),
        "a shard is marked draining: {draining}"
    );
    let r = rooms(cluster)?;
    ensure!(
        (0..3).all(|i| shard_entry(&r, i).is_some_and(|s| s["healthy"] == true)),
        "a shard stopped serving: {r}"
    );

    // Back to the working image: the halt lifts and the canary goes.
    set_image(cluster, &next, "IfNotPresent")?;
    cluster.wait_for("the halt to lift", Duration::from_secs(60), |c| {
        let r = rollout(c);
        r["halted"].is_null() && r["updated"] == 3 && canaries(c).is_ok_and(|n| n.is_empty())
    })?;
    ensure!(
        pod_uids(cluster, &shards)? == uids,
        "going back to the working image replaced a shard"
    );
    std::fs::write(&stop, "stop")?;
    let lines = players.finish(Duration::from_secs(60))?;
    let sessions = lines
        .iter()
        .find_map(|l| l.get("sessions").cloned())
        .context("roll.mjs printed no sessions")?;
    println!("figure: sessions through both rollouts: {sessions}");
    ensure!(
        sessions["ended"] == 0,
        "sessions ended in the rollouts: {sessions}"
    );
    ensure!(
        sessions["resumed"] == 200 && sessions["migrated"] == 200,
        "not every player was handed over once and resumed: {sessions}"
    );
    let healthy = cluster.wait_for(
        "three healthy shards after the halt",
        Duration::from_secs(60),
        |c| {
            rooms(c).is_ok_and(|r| {
                (0..3).all(|i| {
                    shard_entry(&r, i)
                        .is_some_and(|s| s["healthy"] == true && s["draining"] != true)
                })
            })
        },
    );
    if healthy.is_err() {
        eprintln!(
            "rooms: {:?}\ndraining: {:?}\nreplacing: {:?}\nstatus: {}",
            rooms(cluster),
            redis_cli(cluster, &["SMEMBERS", &keys.draining()]),
            redis_cli(cluster, &["SMEMBERS", &keys.replacing()]),
            rollout(cluster)
        );
    }
    healthy?;
    Ok(())
}

/// The set's canary pods, by name.
fn canaries(cluster: &LocalCluster) -> Result<Vec<String>> {
    let out = cluster.kubectl(&[
        "get",
        "pods",
        "-n",
        NAMESPACE,
        "-l",
        "roomshard.dev/set=arena,app.kubernetes.io/component=canary",
        "-o",
        "name",
    ])?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// `kubectl delete rss/NAME` removes every child and the set's Redis keys.
fn delete(cluster: &LocalCluster, set: &str) -> Result<()> {
    let keys = Keys::scoped(Some(NAMESPACE), set)?;
    let pattern = keys.scan_pattern();
    let before = redis_cli(cluster, &["--scan", "--pattern", &pattern])?;
    ensure!(
        !before.trim().is_empty(),
        "the set has no Redis keys to remove"
    );
    cluster.kubectl(&[
        "delete",
        &format!("rss/{set}"),
        "-n",
        NAMESPACE,
        "--wait=true",
        "--timeout=120s",
    ])?;
    cluster.wait_for("every child of the set gone", Duration::from_secs(120), |c| {
        c.kubectl(&[
            "get",
            "statefulsets,deployments,services,ingresses,poddisruptionbudgets,configmaps,secrets,pods",
            "-n",
            NAMESPACE,
            "-l",
            &format!("roomshard.dev/set={set}"),
            "-o",
            "name",
        ])
        .is_ok_and(|out| out.trim().is_empty())
    })?;
    let after = redis_cli(cluster, &["--scan", "--pattern", &pattern])?;
    ensure!(
        after.trim().is_empty(),
        "the set's Redis keys stayed: {after}"
    );
    Ok(())
}

/// `helm uninstall` leaves the CRD.
fn uninstall(cluster: &LocalCluster) -> Result<()> {
    cluster.helm(&[
        "uninstall",
        RELEASE,
        "--namespace",
        SYSTEM_NAMESPACE,
        "--wait",
    ])?;
    ensure!(
        cluster
            .kubectl(&["get", "crd", "roomshardsets.roomshard.dev", "-o", "name"])
            .is_ok(),
        "helm uninstall removed the CRD"
    );
    Ok(())
}

/// `hold.mjs`: `count` players on `shard` for `seconds` at most; returns once all joined,
/// with the rooms they joined.
fn hold(
    cluster: &LocalCluster,
    shard: u32,
    count: u32,
    seconds: u64,
) -> Result<(node::NodeProc, Vec<String>)> {
    let ready = roomshard_testkit::scratch_dir("cluster-hold")?.join("ready");
    let proc = node::spawn(
        "cluster/hold.mjs",
        &[
            cluster.ingress_url()?.to_owned(),
            shard.to_string(),
            count.to_string(),
            seconds.to_string(),
            ready.to_string_lossy().into_owned(),
        ],
        false,
    )?;
    wait_until(
        &format!("{count} players held on shard {shard}"),
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(&ready)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        },
    )
    .map(|v| {
        let rooms = v["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        (proc, rooms)
    })
}

fn pod_uids(cluster: &LocalCluster, pods: &[&str]) -> Result<Vec<String>> {
    pods.iter()
        .map(|p| {
            let v = cluster.get_json(&["pod", p, "-n", NAMESPACE])?;
            v["metadata"]["uid"]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("pod {p} has no uid"))
        })
        .collect()
}

fn median(v: &[u64]) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}
