//! A partition between one worker and Redis: the worker runs in its own network namespace,
//! reaching Redis over one veth pair and its clients over another, and the test takes the
//! Redis pair down. The worker says so on `/readyz` and refuses joins with an error (no
//! hang), its heartbeat expires so the matchmaker stops placing seats there, its players
//! keep playing with each other, and after the partition heals it beats again under the
//! same identity with every room owned by exactly one shard.

use anyhow::{Context, Result, bail, ensure};
use roomshard_faults::{
    Player, SECRET, SET, WorkerOptions, alternate_track, keys, ms, reserve, reserve_ok,
    start_matchmaker, start_worker,
};
use roomshard_testkit::http::send;
use roomshard_testkit::http::{Answer, request_to};
use roomshard_testkit::metrics::Scrape;
use roomshard_testkit::metrics::sum;
use roomshard_testkit::netns::Netns;
use roomshard_testkit::process::Proc;
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::resp::Reply;
use roomshard_testkit::resp::query;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const HEARTBEAT_MS: u64 = 500;
/// How long the partition outlasts the refused join.
const REFUSED_JOIN_HELD: Duration = Duration::from_secs(4);
/// Links of the namespace: Redis traffic, and clients (the test, the players).
const REDIS_LINK: usize = 0;
const CLIENT_LINK: usize = 1;

/// The worker inside the namespace, reached on the client link.
struct IsolatedWorker {
    addr: SocketAddr,
    child: ChildGuard,
    log: PathBuf,
}

impl IsolatedWorker {
    fn get(&self, path: &str, bound: Duration) -> Result<Answer> {
        request_to(self.addr, "GET", path, None, b"", bound)
    }

    fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines.len().saturating_sub(40);
        format!(
            "--- isolated worker (last lines) ---\n{}",
            lines[tail..].join("\n")
        )
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn start_isolated(ns: &Netns, dir: &std::path::Path, redis_url: &str) -> Result<IsolatedWorker> {
    let ip = IpAddr::V4(ns.link(CLIENT_LINK).ns_addr);
    // Every port is free in a new namespace; any will do.
    let addr = SocketAddr::new(ip, free_port()?);
    let mut cmd = ns.command(&roomshard_testkit::bins::binary("roomshard-worker")?);
    roomshard_testkit::bins::clean_env(&mut cmd);
    cmd.env("ROOM_SHARD", "0/2")
        .env("PORT", addr.port().to_string())
        .env("BIND_ADDRESS", ip.to_string())
        .env("REDIS_URL", redis_url)
        .env("ROOMSHARD_SET", SET)
        .env("PUBLIC_URL", format!("http://{addr}"))
        .env("POD_NAME", "worker-0")
        .env("HEARTBEAT_INTERVAL_MS", HEARTBEAT_MS.to_string())
        .env("DRAIN_TIMEOUT_MS", "500")
        .env("ROOMSHARD_TOKEN_SECRET", SECRET);
    let log = dir.join("worker-0.log");
    let child = ChildGuard::spawn("isolated worker 0/2", cmd, &log)?;
    Ok(IsolatedWorker { addr, child, log })
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str> {
    v[name]
        .as_str()
        .with_context(|| format!("no {name} in {v}"))
}

fn shard_health(mm: u16, shard: u32) -> Option<bool> {
    let rooms = send(mm, "GET", "/rooms", None).ok()?.json().ok()?;
    let healthy = rooms["shards"]
        .as_array()?
        .iter()
        .find(|s| s["shard"] == shard)
        .map(|s| s["healthy"] == true)
        // An expired and unlisted shard is as unhealthy as a stale one.
        .unwrap_or(false);
    Some(healthy)
}

fn started_at(redis: &RedisServer, shard: u32) -> Result<u64> {
    let raw = query(redis.port(), &["GET", &keys().shard(shard)])?;
    let text = raw.as_text().context("no heartbeat record")?;
    let hb: serde_json::Value = serde_json::from_str(text)?;
    hb["started_at"]
        .as_u64()
        .with_context(|| format!("no started_at in {hb}"))
}

/// Every room of the registry: its recorded shard is the one its id hashes to, and it is
/// listed under that shard alone.
fn rooms_owned_once(redis: &RedisServer) -> Result<Vec<(String, u32)>> {
    let port = redis.port();
    let k = keys();
    let rooms = query(port, &["ZRANGE", &k.rooms(), "0", "-1"])?.texts();
    let mut out = Vec::new();
    for room in rooms {
        let shard: u32 = query(port, &["HGET", &k.room(&room), "shard"])?
            .as_int()
            .with_context(|| format!("room {room} has no shard"))?
            .try_into()?;
        ensure!(
            shard == roomshard_protocol::shard_for_room(&room, 2),
            "room {room} is recorded on shard {shard}, its id hashes elsewhere"
        );
        for other in 0..2u32 {
            let listed =
                query(port, &["SISMEMBER", &k.shard_rooms(other), &room])?.as_int() == Some(1);
            ensure!(
                listed == (other == shard),
                "room {room} (shard {shard}) listed under shard {other}: {listed}"
            );
        }
        out.push((room, shard));
    }
    Ok(out)
}

fn players_of(redis: &RedisServer, room: &str) -> Result<i64> {
    query(redis.port(), &["HGET", &keys().room(room), "players"])?
        .as_int()
        .with_context(|| format!("room {room} has no players count"))
}

#[test]
fn worker_cut_off_from_redis_stops_taking_joins_and_rejoins_cleanly() -> Result<()> {
    // Declared first, dropped last: the processes in the namespace go before it.
    let ns = Netns::create(2)?;
    let redis_side = IpAddr::V4(ns.link(REDIS_LINK).root_addr);
    let redis = RedisServer::start_also_on(&[redis_side])?;
    let dir = roomshard_testkit::scratch_dir("faults-redis-partition")?;

    let mut isolated = start_isolated(&ns, &dir, &redis.url_at(redis_side))?;
    let mut other: Proc = start_worker(
        &dir,
        &WorkerOptions {
            index: 1,
            total: 2,
            redis_url: &redis.url(),
            heartbeat_ms: HEARTBEAT_MS,
            secret: Some(SECRET),
        },
    )?;
    {
        let w = &mut isolated;
        let outcome = wait_until(
            "the isolated worker's /readyz to answer 200",
            Duration::from_secs(30),
            || {
                if let Some(status) = w.child.try_status() {
                    return Some(Err(anyhow::anyhow!("it exited with {status}")));
                }
                w.get("/readyz", Duration::from_secs(5))
                    .ok()
                    .filter(|a| a.status == 200)
                    .map(|_| Ok(()))
            },
        );
        if let Err(e) = outcome.and_then(|r| r) {
            bail!("{e:#}\n{}", w.logs());
        }
    }
    other.wait_ok("/readyz", Duration::from_secs(30))?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &redis.url(), HEARTBEAT_MS)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    wait_until(
        "the matchmaker to see both shards healthy",
        Duration::from_secs(10),
        || (shard_health(mm.port, 0)? && shard_health(mm.port, 1)?).then_some(()),
    )?;

    // A room on each shard with two players, and one spare seat on the isolated shard.
    let mut by_shard: [Vec<serde_json::Value>; 2] = [Vec::new(), Vec::new()];
    for track in ["cut", "kept"] {
        for _ in 0..2 {
            let r = reserve_ok(mm.port, json!({ "track": track }))?;
            let shard = usize::try_from(r["shard"].as_u64().context("shard")?)?;
            by_shard[shard].push(r);
        }
    }
    ensure!(
        by_shard[0].len() == 2 && by_shard[1].len() == 2,
        "the two tracks did not land one per shard: {by_shard:?}"
    );
    let cut_room = field(&by_shard[0][0], "room")?.to_owned();
    let kept_room = field(&by_shard[1][0], "room")?.to_owned();
    ensure!(field(&by_shard[0][1], "room")? == cut_room);
    ensure!(field(&by_shard[0][0], "url")? == isolated.url());
    let spare = reserve_ok(mm.port, json!({ "room": cut_room }))?;
    let join = |r: &serde_json::Value, name: &str| -> Result<Player> {
        Player::join(
            field(r, "url")?,
            field(r, "room")?,
            Some(field(r, "token")?),
            name,
        )
    };
    let cut_a = join(&by_shard[0][0], "cut-a")?;
    let cut_b = join(&by_shard[0][1], "cut-b")?;
    let kept_a = join(&by_shard[1][0], "kept-a")?;
    let kept_b = join(&by_shard[1][1], "kept-b")?;
    let ids = [cut_a.id()?, cut_b.id()?, kept_a.id()?, kept_b.id()?];
    let before = Instant::now();
    cut_a.wait_sees_move(&ids[1], before, Duration::from_secs(10))?;
    kept_a.wait_sees_move(&ids[3], before, Duration::from_secs(10))?;
    let identity = started_at(&redis, 0)?;

    // The partition: Redis's side of the link goes down; packets vanish.
    ns.set_link(REDIS_LINK, false)?;
    let cut_at = Instant::now();

    let not_ready = wait_until(
        "the isolated worker's /readyz to answer 503",
        Duration::from_secs(8),
        || {
            let a = isolated.get("/readyz", Duration::from_secs(2)).ok()?;
            (a.status == 503).then(|| (Instant::now(), a.body))
        },
    )
    .map_err(|e| anyhow::anyhow!("{e:#}\n{}", isolated.logs()))?;
    let not_ready_after = not_ready.0 - cut_at;
    ensure!(
        not_ready.1.contains("redis"),
        "/readyz does not name the reason: {:?}",
        not_ready.1
    );
    let healthz = isolated.get("/healthz", Duration::from_secs(2))?;
    ensure!(
        healthz.status == 200,
        "/healthz during the partition answered {}",
        healthz.status
    );

    let expired = wait_until(
        "the isolated shard's heartbeat to expire",
        Duration::from_secs(8),
        || (!redis.exists(&keys().shard(0)).unwrap_or(true)).then(Instant::now),
    )?;
    wait_until(
        "the matchmaker to mark the isolated shard unhealthy",
        Duration::from_secs(8),
        || (!shard_health(mm.port, 0)?).then_some(()),
    )?;
    let unhealthy_after = Instant::now() - cut_at;

    // A join on the isolated worker, with a token reserved before the partition: refused
    // with an error in bounded time, not left hanging.
    // A player on the isolated shard's room, with the seat reserved before the partition.
    let spare_player = |name: &str| {
        Player::spawn(
            field(&spare, "url")?,
            &cut_room,
            Some(field(&spare, "token")?),
            name,
        )
    };
    let late = spare_player("late")?;
    let answer = late.join_answer(Duration::from_secs(15))?;
    let join_ms = late.ms_since_connected(&answer)?;
    ensure!(
        answer.line["ok"] == false && answer.line["error"] == "unavailable",
        "a join during the partition: {}",
        answer.line
    );
    ensure!(join_ms <= 3000, "the refusal took {join_ms} ms");

    // No new seat is placed on the isolated shard, and its room is not given out.
    let mut placed = 0;
    for i in 0..20 {
        let r = reserve_ok(mm.port, json!({ "track": alternate_track(i, "cut") }))?;
        ensure!(r["shard"] == 1, "a seat on the isolated shard: {r}");
        placed += 1;
    }
    let named = reserve(mm.port, &json!({ "room": cut_room }))?;
    ensure!(
        named.status == 503,
        "a seat in the isolated room: {} {}",
        named.status,
        named.body
    );

    // Players on both sides keep playing: the isolated room's fan-out is local.
    let during = Instant::now();
    cut_a.wait_sees_move(&ids[1], during, Duration::from_secs(5))?;
    cut_b.wait_sees_move(&ids[0], during, Duration::from_secs(5))?;
    kept_a.wait_sees_move(&ids[3], during, Duration::from_secs(5))?;
    // The refused join's seat script is still in flight (held by the partition); the
    // partition lasts past that script's deadline (the worker's Redis deadline of 1 s
    // plus 2 s), so when it reaches Redis it must take no seat.
    if let Some(rest) = REFUSED_JOIN_HELD.checked_sub(answer.at.elapsed()) {
        std::thread::sleep(rest);
    }
    let partition_lasted = cut_at.elapsed();

    // Heal.
    ns.set_link(REDIS_LINK, true)?;
    let healed_at = Instant::now();
    let back = wait_until(
        "the isolated worker's heartbeat to return",
        Duration::from_secs(15),
        || redis.exists(&keys().shard(0)).ok()?.then(Instant::now),
    )
    .map_err(|e| anyhow::anyhow!("{e:#}\n{}", isolated.logs()))?;
    let ready = wait_until(
        "the isolated worker's /readyz to answer 200 again",
        Duration::from_secs(15),
        || {
            let a = isolated.get("/readyz", Duration::from_secs(2)).ok()?;
            (a.status == 200).then(Instant::now)
        },
    )?;
    wait_until(
        "the matchmaker to see the isolated shard healthy again",
        Duration::from_secs(10),
        || shard_health(mm.port, 0)?.then_some(()),
    )?;
    ensure!(
        started_at(&redis, 0)? == identity,
        "the shard came back under another identity"
    );

    // Rooms: each recorded once, on the shard its id names; each worker hosts only its own.
    let owned = rooms_owned_once(&redis)?;
    ensure!(
        owned.contains(&(cut_room.clone(), 0)) && owned.contains(&(kept_room.clone(), 1)),
        "{owned:?}"
    );
    let hosted_isolated = Scrape::at(isolated.addr)?.sum("roomshard_worker_rooms")?;
    let hosted_other = sum(other.port, "roomshard_worker_rooms")?;
    ensure!(
        (hosted_isolated, hosted_other) == (1.0, 1.0),
        "rooms hosted: isolated {hosted_isolated}, other {hosted_other}"
    );
    let mut shards = query(redis.port(), &["ZRANGE", &keys().shards(), "0", "-1"])?.texts();
    shards.sort();
    ensure!(shards == ["0", "1"], "registered shards {shards:?}");

    // The isolated room takes seats again, in the same live room: the old players see the
    // newcomer arrive. The refused player retries with its token.
    let again = reserve_ok(mm.port, json!({ "room": cut_room }))?;
    ensure!(again["shard"] == 0, "{again}");
    let newcomer = join(&again, "newcomer")?;
    cut_a.wait_sees_join(&newcomer, Duration::from_secs(5))?;
    drop(late);
    let retry = spare_player("late-retry")?;
    let retried = retry.join_answer(Duration::from_secs(15))?;
    // Seats in the registry match the players really there: the refused join left no seat
    // behind, and its token still holds the seat it reserved.
    let players = players_of(&redis, &cut_room)?;
    ensure!(
        retried.line["ok"] == true && players == 4,
        "room {cut_room} counts {players} players for 4 seated; the retried join: {}",
        retried.line
    );
    let lost = send(mm.port, "GET", "/rooms", None)?.json()?["rooms"]
        .as_array()
        .and_then(|rooms| {
            rooms
                .iter()
                .find(|r| r["room"] == cut_room.as_str())
                .cloned()
        })
        .map(|r| r["lost"].clone())
        .unwrap_or_default();
    let recorded_lost =
        query(redis.port(), &["ZSCORE", &keys().lost_rooms(), &cut_room])? != Reply::Nil;

    println!(
        "FIGURES redis-partition: /readyz 503 ({:?}) {} ms after the cut (heartbeat {HEARTBEAT_MS} \
         ms); heartbeat key gone after {} ms, matchmaker unhealthy after {} ms; join refused \
         `unavailable` in {join_ms} ms; {placed} reserves during the partition, 0 on the isolated \
         shard; isolated players kept seeing each other; partition {} ms; after the heal: \
         heartbeat back in {} ms, /readyz 200 in {} ms, same started_at; {} rooms each on one \
         shard; the refused player's retry with its token seated, room counts {players} players \
         for 4 seated; GET /rooms lost={lost} \
         (lost-rooms record {recorded_lost})",
        not_ready.1.trim(),
        ms(not_ready_after),
        ms(expired - cut_at),
        ms(unhealthy_after),
        ms(partition_lasted),
        ms(back - healed_at),
        ms(ready - healed_at),
        owned.len(),
    );
    Ok(())
}
