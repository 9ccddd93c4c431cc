//! A worker killed with SIGKILL while a player is in one of its rooms: its heartbeat
//! expires within three intervals, the matchmaker stops placing seats there, its rooms are
//! reported lost, and players of a room on another worker keep playing. The shard's next
//! process leaves no ghost: the player the killed one counted is forgotten and its empty
//! room closed.

use anyhow::{Context, Result};
use roomshard_faults::{
    Player, SECRET, WorkerOptions, alternate_track, keys, ms, reserve, reserve_ok,
    start_matchmaker, start_ready_workers, start_worker,
};
use roomshard_testkit::http::{healthy_shards, send};
use roomshard_testkit::metrics::sum;
use roomshard_testkit::process::wait_until;
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::resp::Reply;
use roomshard_testkit::resp::query;
use serde_json::json;
use std::time::{Duration, Instant};

const HEARTBEAT_MS: u64 = 500;

fn shard_of(answer: &serde_json::Value) -> Result<u32> {
    answer["shard"]
        .as_u64()
        .and_then(|s| u32::try_from(s).ok())
        .with_context(|| format!("no shard in {answer}"))
}

fn str_of<'a>(answer: &'a serde_json::Value, field: &str) -> Result<&'a str> {
    answer[field]
        .as_str()
        .with_context(|| format!("no {field} in {answer}"))
}

/// A player joining `room` with the seat `answer` reserved.
fn join_seat(answer: &serde_json::Value, room: &str, name: &str) -> Result<Player> {
    Player::join(
        str_of(answer, "url")?,
        room,
        Some(str_of(answer, "token")?),
        name,
    )
}

#[test]
fn sigkilled_worker_is_dropped_and_its_rooms_reported_lost() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-worker-kill")?;
    let workers = start_ready_workers(&dir, 2, &redis.url(), HEARTBEAT_MS, Some(SECRET))?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &redis.url(), HEARTBEAT_MS)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    wait_until(
        "the matchmaker to see 2 healthy shards",
        Duration::from_secs(10),
        || (healthy_shards(mm.port) == Some(2)).then_some(()),
    )?;

    // One room per shard: the doomed one first, then the survivor on the least-loaded shard.
    let doomed = reserve_ok(mm.port, json!({"track": "doomed"}))?;
    let victim = shard_of(&doomed)?;
    let survivor_a = reserve_ok(mm.port, json!({"track": "survivor"}))?;
    let survivor_b = reserve_ok(mm.port, json!({"track": "survivor"}))?;
    let survivor_shard = shard_of(&survivor_a)?;
    assert_ne!(victim, survivor_shard, "the two rooms share a shard");
    assert_eq!(
        survivor_a["room"], survivor_b["room"],
        "the survivors fill one room"
    );
    let survivor_room = str_of(&survivor_a, "room")?.to_owned();
    let doomed_room = str_of(&doomed, "room")?.to_owned();

    let doomed_player = join_seat(&doomed, &doomed_room, "doomed")?;
    let a = join_seat(&survivor_a, &survivor_room, "survivor-a")?;
    let b = join_seat(&survivor_b, &survivor_room, "survivor-b")?;
    let (a_id, b_id) = (a.id()?, b.id()?);
    let started = Instant::now();
    a.wait_sees_move(&b_id, started, Duration::from_secs(10))?;
    b.wait_sees_move(&a_id, started, Duration::from_secs(10))?;

    // SIGKILL the doomed room's worker mid-session.
    let heartbeat_key = keys().shard(victim);
    assert!(
        redis.exists(&heartbeat_key)?,
        "no heartbeat before the kill"
    );
    let killed_at = Instant::now();
    workers[victim as usize].child.signal("KILL")?;

    let disconnect = doomed_player.wait_for(
        "the doomed player to be disconnected",
        Duration::from_secs(10),
        |s| s.line["ev"] == "disconnect",
    )?;
    let expired = wait_until(
        "the killed worker's heartbeat to expire",
        Duration::from_millis(3 * HEARTBEAT_MS + 2000),
        || (!redis.exists(&heartbeat_key).unwrap_or(true)).then(Instant::now),
    )?;
    let expiry = expired - killed_at;
    assert!(
        expiry <= Duration::from_millis(3 * HEARTBEAT_MS + 250),
        "heartbeat outlived three intervals: {expiry:?}"
    );

    // From now on no reservation names the dead shard: new tracks, the doomed track, and
    // the doomed room by name (refused outright).
    let mut placements = 0;
    for i in 0..40 {
        let answer = reserve_ok(mm.port, json!({"track": alternate_track(i, "doomed")}))?;
        assert_ne!(
            shard_of(&answer)?,
            victim,
            "a seat on the dead shard after its heartbeat expired: {answer}"
        );
        placements += 1;
    }
    let named = reserve(mm.port, &json!({"room": doomed_room}))?;
    assert_eq!(named.status, 503, "a seat in the lost room: {}", named.body);
    assert_eq!(named.json()?["error"]["code"], "no_capacity");

    // The lost room is reported, not silently kept.
    let rooms = send(mm.port, "GET", "/rooms", None)?.json()?;
    let listed = rooms["rooms"]
        .as_array()
        .context("rooms")?
        .iter()
        .find(|r| r["room"] == doomed_room.as_str())
        .with_context(|| format!("the lost room is not listed: {rooms}"))?;
    assert_eq!(listed["lost"], true, "the dead shard's room: {listed}");
    let shard = rooms["shards"]
        .as_array()
        .context("shards")?
        .iter()
        .find(|s| s["shard"] == victim)
        .context("the dead shard is not listed")?;
    assert_eq!(shard["healthy"], false, "{shard}");
    let survivor_listed = rooms["rooms"]
        .as_array()
        .context("rooms")?
        .iter()
        .find(|r| r["room"] == survivor_room.as_str())
        .context("the surviving room is not listed")?;
    assert_eq!(survivor_listed["lost"], false, "{survivor_listed}");
    let recorded = query(
        redis.port(),
        &["ZSCORE", &keys().lost_rooms(), &doomed_room],
    )?;
    assert_ne!(
        recorded,
        Reply::Nil,
        "the lost room is not recorded in lost-rooms"
    );
    // GET /rooms records and counts lost rooms (reservations skip them without recording).
    // Printed only.
    let lost_total = sum(mm.port, "roomshard_matchmaker_lost_rooms_total")?;

    // The surviving room keeps working: moves both ways, and presence for a newcomer.
    let after = Instant::now();
    a.wait_sees_move(&b_id, after, Duration::from_secs(5))?;
    b.wait_sees_move(&a_id, after, Duration::from_secs(5))?;
    let late = reserve_ok(mm.port, json!({"track": "survivor"}))?;
    assert_eq!(late["room"], survivor_room.as_str());
    let c = join_seat(&late, &survivor_room, "survivor-c")?;
    a.wait_sees_join(&c, Duration::from_secs(5))?;

    // The shard's next process forgets the players the killed one left counted: the lost
    // room, empty and unreserved, closes, and the shard owns no room.
    let owned_key = keys().shard_rooms(victim);
    let doomed_seats = keys().room(&doomed_room);
    assert_eq!(
        query(redis.port(), &["HGET", &doomed_seats, "players"])?,
        Reply::Text("1".into()),
        "the killed process's player is still counted"
    );
    let mut restarted = start_worker(
        &dir,
        &WorkerOptions {
            index: victim,
            total: 2,
            redis_url: &redis.url(),
            heartbeat_ms: HEARTBEAT_MS,
            secret: Some(SECRET),
        },
    )?;
    restarted.wait_ok("/readyz", Duration::from_secs(30))?;
    wait_until(
        "the restarted shard to own no ghost room",
        Duration::from_secs(10),
        || {
            (query(redis.port(), &["SCARD", &owned_key]).ok() == Some(Reply::Int(0))
                && query(redis.port(), &["EXISTS", &doomed_seats]).ok() == Some(Reply::Int(0)))
            .then_some(())
        },
    )?;
    let rooms = send(mm.port, "GET", "/rooms", None)?.json()?;
    assert!(
        !rooms["rooms"]
            .as_array()
            .context("rooms")?
            .iter()
            .any(|r| r["room"] == doomed_room.as_str()),
        "the ghost room is still listed: {rooms}"
    );

    println!(
        "FIGURES worker-kill: doomed player disconnected after {} ms; heartbeat gone {} ms \
         after SIGKILL (interval {HEARTBEAT_MS} ms, limit {} ms); {placements} reserves after \
         expiry, 0 on the dead shard; named reserve of the lost room: 503 no_capacity; \
         lost room listed lost=true and recorded in lost-rooms \
         (roomshard_matchmaker_lost_rooms_total {lost_total}); survivors kept seeing moves and \
         presence",
        ms(disconnect.at - killed_at),
        ms(expiry),
        3 * HEARTBEAT_MS,
    );
    Ok(())
}
