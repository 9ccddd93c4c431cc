//! A Redis Cluster of three primaries and three replicas under reservation load:
//!
//! - **Failover.** The primary that holds the shards' group (heartbeats, room claims) is
//!   killed. A replica takes over, and reservations succeed again within a bound measured
//!   here; no seat is given twice and no room is reserved past its capacity.
//! - **Resharding.** A third of a primary's slots move to another with `redis-cli --cluster
//!   reshard` while reservations run and two players on two workers share a room whose
//!   room-sync partition moves. The clients only follow redirections: every reservation
//!   succeeds, and the players still see each other after the move.

use anyhow::{Result, ensure};
use roomshard_faults::{Player, keys, ms, reserve, start_matchmaker, start_ready_workers};
use roomshard_protocol::slot::key_slot;
use roomshard_protocol::{Keys, SyncChannels};
use roomshard_testkit::redis_cluster::RedisCluster;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const HEARTBEAT_MS: u64 = 1000;
/// The workers' default room capacity.
const CAPACITY: usize = 16;
/// Load generators, each reserving every PACE: about 100 reservations a second, so a run
/// of 20 s stays within the two shards' 3,200 seats while every reservation is still live
/// (30 s), and each can be counted against its room.
const THREADS: usize = 4;
const PACE: Duration = Duration::from_millis(40);

/// One answered reservation: when it was answered, its status, and its room and token.
struct Outcome {
    at: Instant,
    status: u16,
    room: String,
    token: String,
    /// The error code of a refusal.
    code: String,
}

/// Reservations in a closed loop on a few tracks until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..THREADS)
            .map(|t| {
                let (stop, outcomes) = (stop.clone(), outcomes.clone());
                std::thread::spawn(move || {
                    let mut i = 0u32;
                    while !stop.load(Ordering::SeqCst) {
                        let track = format!("t{}", (i + t as u32) % 8);
                        i += 1;
                        let outcome = match reserve(port, &json!({ "track": track })) {
                            Ok(a) => {
                                let body = a.json().unwrap_or_default();
                                let text = |k: &str| body[k].as_str().unwrap_or("").to_owned();
                                Outcome {
                                    at: Instant::now(),
                                    status: a.status,
                                    room: text("room"),
                                    token: text("token"),
                                    code: body["error"]["code"].as_str().unwrap_or("").to_owned(),
                                }
                            }
                            Err(_) => Outcome {
                                at: Instant::now(),
                                status: 0,
                                room: String::new(),
                                token: String::new(),
                                code: String::new(),
                            },
                        };
                        if let Ok(mut o) = outcomes.lock() {
                            o.push(outcome);
                        }
                        // Pacing of the offered load, not a wait for a condition.
                        std::thread::sleep(PACE);
                    }
                })
            })
            .collect();
        Self {
            stop,
            outcomes,
            threads,
        }
    }

    fn answered(&self) -> usize {
        self.outcomes.lock().map_or(0, |o| o.len())
    }

    /// Stops the load and hands back every outcome.
    fn finish(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.outcomes
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// No token handed out twice, and no room given more live reservations than seats.
fn assert_no_seat_twice(outcomes: &[Outcome]) -> Result<()> {
    let granted: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 200).collect();
    let tokens: HashSet<&str> = granted.iter().map(|o| o.token.as_str()).collect();
    ensure!(
        tokens.len() == granted.len(),
        "{} reservations, {} tokens",
        granted.len(),
        tokens.len()
    );
    let mut per_room: HashMap<&str, usize> = HashMap::new();
    for o in &granted {
        *per_room.entry(o.room.as_str()).or_default() += 1;
    }
    let fullest = per_room.iter().max_by_key(|(_, n)| **n);
    ensure!(
        fullest.is_none_or(|(_, n)| *n <= CAPACITY),
        "a room got more reservations than seats: {fullest:?}"
    );
    Ok(())
}

fn wait_answered(load: &Load, n: usize, deadline: Duration) -> Result<()> {
    roomshard_testkit::process::wait_until("the load to get going", deadline, || {
        (load.answered() >= n).then_some(())
    })
    .map(|_| ())
}

/// One cluster fault at a time: a failover next to a reshard (twelve Redis nodes, four
/// workers and two matchmakers on two cores) would stretch each past the Redis deadlines it
/// is measured against, and neither figure would be the fault's own.
static ONE_FAULT: Mutex<()> = Mutex::new(());

fn one_fault() -> std::sync::MutexGuard<'static, ()> {
    ONE_FAULT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn a_primary_killed_under_reservation_load_fails_over_without_double_seats() -> Result<()> {
    let _turn = one_fault();
    let mut cluster = RedisCluster::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-cluster-failover")?;
    let url = cluster.url();
    let _workers = start_ready_workers(&dir, 2, &url, HEARTBEAT_MS, None)?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &url, HEARTBEAT_MS)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;

    let load = Load::start(mm.port);
    wait_answered(&load, 100, Duration::from_secs(20))?;
    let victim = cluster.owner_of_slot(key_slot(&keys().shards()))?;
    let killed_at = Instant::now();
    cluster.kill_node(victim);
    cluster.wait_healthy(3, Duration::from_secs(30))?;
    let healthy_after = killed_at.elapsed();
    // Load goes on until reservations have succeeded for 3 s in a row.
    roomshard_testkit::process::wait_until(
        "reservations to succeed for 3 s after the failover",
        Duration::from_secs(40),
        || {
            let o = load.outcomes.lock().ok()?;
            let last_failure = o.iter().rev().find(|x| x.status != 200).map(|x| x.at);
            let since = last_failure.unwrap_or(killed_at).max(killed_at);
            (since.elapsed() >= Duration::from_secs(3)).then_some(())
        },
    )?;
    let outcomes = load.finish();

    let after_kill: Vec<&Outcome> = outcomes.iter().filter(|o| o.at >= killed_at).collect();
    let failed: Vec<&&Outcome> = after_kill.iter().filter(|o| o.status != 200).collect();
    let last_failure = failed.last().map(|o| o.at.duration_since(killed_at));
    let recovered = last_failure.unwrap_or_default();
    let before_kill = outcomes.iter().filter(|o| o.at < killed_at).count();
    let failed_before = outcomes
        .iter()
        .filter(|o| o.at < killed_at && o.status != 200)
        .count();
    let statuses: HashSet<u16> = failed.iter().map(|o| o.status).collect();
    println!(
        "FIGURES cluster-failover: primary :{victim} killed after {before_kill} reservations; \
         cluster ok again (replica promoted) after {} ms; last failed reservation {} ms after \
         the kill, {} of {} reservations after it failed (statuses {statuses:?}); none failed \
         before it",
        ms(healthy_after),
        ms(recovered),
        failed.len(),
        after_kill.len(),
    );
    ensure!(failed_before == 0, "{failed_before} failed before the kill");
    ensure!(
        statuses.iter().all(|s| *s == 503),
        "during the failover reservations fail only as 503: {statuses:?}"
    );
    // cluster-node-timeout is 5 s: the failure is declared after it, and a replica elected
    // a moment later; the clients then find the new primary within their reconnection
    // back-off.
    ensure!(
        recovered <= healthy_after + Duration::from_secs(5),
        "reservations recovered {} ms after the kill, the cluster {} ms",
        ms(recovered),
        ms(healthy_after)
    );
    ensure!(
        recovered <= Duration::from_secs(15),
        "recovery took {} ms",
        ms(recovered)
    );
    assert_no_seat_twice(&outcomes)
}

/// A room whose room-sync partition lies in the lowest `slots` slots of its primary's, so
/// that moving those slots moves it.
fn room_in_moved_slots(cluster: &RedisCluster, keys: &Keys, slots: u16) -> Result<(String, u16)> {
    let channels = SyncChannels::new(keys.clone());
    for i in 0..10_000 {
        let room = format!("shared-{i}");
        let slot = channels.slot(channels.partition_of(&room));
        let owner = cluster.owner_of_slot(slot)?;
        // Nodes own equal runs of slots from 0 (redis-cli --cluster create).
        let first = (0..=slot)
            .rev()
            .take_while(|s| cluster.owner_of_slot(*s).ok() == Some(owner))
            .last()
            .unwrap_or(slot);
        if slot - first < slots {
            return Ok((room, owner));
        }
    }
    anyhow::bail!("no room found whose partition moves")
}

#[test]
fn slots_moved_under_load_only_redirect() -> Result<()> {
    let _turn = one_fault();
    let cluster = RedisCluster::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-cluster-reshard")?;
    let url = cluster.url();
    let workers = start_ready_workers(&dir, 2, &url, HEARTBEAT_MS, None)?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &url, HEARTBEAT_MS)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;

    const MOVED: u16 = 1800;
    let (room, from) = room_in_moved_slots(&cluster, &keys(), MOVED)?;
    let to = cluster
        .primaries()?
        .into_iter()
        .find(|p| *p != from)
        .ok_or_else(|| anyhow::anyhow!("a second primary"))?;
    let a = Player::join(&workers[0].url(), &room, None, "on-0")?;
    let b = Player::join(&workers[1].url(), &room, None, "on-1")?;
    let (a_id, b_id) = (a.id()?, b.id()?);
    let t = Instant::now();
    a.wait_sees_move(&b_id, t, Duration::from_secs(10))?;
    b.wait_sees_move(&a_id, t, Duration::from_secs(10))?;

    let load = Load::start(mm.port);
    wait_answered(&load, 100, Duration::from_secs(20))?;
    let started = Instant::now();
    cluster.reshard(from, to, u32::from(MOVED))?;
    let took = started.elapsed();
    let partition_slot = {
        let channels = SyncChannels::new(keys());
        channels.slot(channels.partition_of(&room))
    };
    ensure!(
        cluster.owner_of_slot(partition_slot)? == to,
        "the room's partition moved"
    );
    let moved_at = Instant::now();
    a.wait_sees_move(&b_id, moved_at, Duration::from_secs(10))?;
    b.wait_sees_move(&a_id, moved_at, Duration::from_secs(10))?;
    let seen_again = moved_at.elapsed();
    // A little more load on the new layout.
    let n = load.answered();
    wait_answered(&load, n + 50, Duration::from_secs(20))?;
    let outcomes = load.finish();

    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status != 200).collect();
    let during = outcomes
        .iter()
        .filter(|o| o.at >= started && o.at <= moved_at)
        .count();
    println!(
        "FIGURES cluster-reshard: {MOVED} slots moved :{from} -> :{to} in {} ms with {during} \
         reservations meanwhile; {} of {} reservations failed; two players of a room whose \
         sync partition moved saw each other move again {} ms after the move",
        ms(took),
        failed.len(),
        outcomes.len(),
        ms(seen_again),
    );
    ensure!(
        failed.is_empty(),
        "no error reaches a reserver: {:?}",
        failed
            .iter()
            .map(|o| (o.status, &o.code))
            .collect::<Vec<_>>()
    );
    assert_no_seat_twice(&outcomes)
}
