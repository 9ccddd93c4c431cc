//! Workers on a real Redis: registration and heartbeat, drain on SIGTERM, reservation
//! tokens, two workers sharing a room, and start-up validation of the shard identity.

mod common;

use common::{SECRET, run_node, spawn_node, start_worker, worker_command};
use roomshard_protocol::Keys;
use roomshard_protocol::records::ShardHeartbeat;
use roomshard_protocol::token::{Claims, TOKEN_VERSION, TokenKey, new_nonce};
use roomshard_testkit::metrics::value;
use roomshard_testkit::node::check;
use roomshard_testkit::process::wait_until;
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::redis_stats::ServerStats;
use roomshard_testkit::resp::Reply;
use std::time::{Duration, Instant};

fn heartbeat(redis: &RedisServer, index: u32) -> Option<ShardHeartbeat> {
    let keys = Keys::new("default").expect("keys");
    let record = redis.query(&["GET", &keys.shard(index)]).ok()?;
    ShardHeartbeat::decode(record.as_text()?.as_bytes()).ok()
}

/// Whether a reply says "absent": a nil, or a zero count.
fn absent(reply: &Reply) -> bool {
    reply.is_nil() || *reply == Reply::Int(0)
}

#[test]
fn bad_room_shard_exits_non_zero_naming_the_variable() {
    for bad in ["3/3", "x/2", "0/0"] {
        let out = worker_command(&[("ROOM_SHARD", bad.into()), ("PORT", "0".into())])
            .expect("worker binary")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad} was accepted");
        assert!(stderr.contains("ROOM_SHARD is invalid"), "{bad}: {stderr}");
        assert!(stderr.contains("<index>/<total>"), "{bad}: {stderr}");
    }
    let out = worker_command(&[
        ("ROOM_SHARD_INDEX", "3".into()),
        ("ROOM_SHARD_TOTAL", "3".into()),
        ("PORT", "0".into()),
    ])
    .expect("worker binary")
    .output()
    .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ROOM_SHARD_INDEX") && stderr.contains("ROOM_SHARD_TOTAL"),
        "{stderr}"
    );
    // Clustered without an identity is refused too.
    let out = worker_command(&[
        ("REDIS_URL", "redis://127.0.0.1:1".into()),
        ("PORT", "0".into()),
    ])
    .expect("worker binary")
    .output()
    .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ROOM_SHARD is required"));
}

#[test]
fn shard_identity_from_index_and_total() {
    let redis = RedisServer::start().expect("redis");
    let _worker = start_worker(
        "index-total",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD_INDEX", "2".into()),
            ("ROOM_SHARD_TOTAL", "4".into()),
            // ROOM_SHARD wins over the pair when both are set.
            ("ROOM_SHARD", "1/4".into()),
        ],
    )
    .expect("worker");
    let hb = wait_until("heartbeat of shard 1", Duration::from_secs(5), || {
        heartbeat(&redis, 1)
    })
    .expect("beat");
    assert_eq!((hb.index, hb.total), (1, 4));
    assert!(heartbeat(&redis, 2).is_none());
}

#[test]
fn heartbeat_appears_expires_after_kill_and_drains_on_term() {
    const INTERVAL: u64 = 300;
    let redis = RedisServer::start().expect("redis");
    let envs = [
        ("REDIS_URL", redis.url()),
        ("ROOM_SHARD", "1/2".into()),
        ("HEARTBEAT_INTERVAL_MS", INTERVAL.to_string()),
        ("POD_NAME", "game-1".into()),
        ("PUBLIC_URL", "ws://127.0.0.1/shard/1".into()),
        ("DRAIN_TIMEOUT_MS", "2000".into()),
    ];
    let worker = start_worker("heartbeat", &envs).expect("worker");
    // Ready means registered: the record is there at once and carries the identity.
    let hb = heartbeat(&redis, 1).expect("record present when ready");
    assert_eq!((hb.index, hb.total, hb.pod.as_str()), (1, 2, "game-1"));
    assert_eq!(hb.url, "ws://127.0.0.1/shard/1");
    assert_eq!(hb.interval_ms, INTERVAL);
    assert!(!hb.draining);
    let ttl = redis
        .query(&["PTTL", &Keys::new("default").expect("k").shard(1)])
        .expect("pttl")
        .as_int()
        .expect("ttl");
    assert!(ttl > 0 && ttl <= 3 * INTERVAL as i64, "ttl {ttl}");
    // It keeps beating: the sequence number grows within an interval or two.
    let seq = hb.seq;
    wait_until("the next beat", Duration::from_millis(3 * INTERVAL), || {
        heartbeat(&redis, 1).filter(|h| h.seq > seq)
    })
    .expect("beats");
    let member = redis
        .query(&["ZSCORE", "roomshard:{default}:shards", "1"])
        .expect("zscore");
    assert!(!member.is_nil(), "{member:?}");

    // SIGKILL: no deregistration, the record expires within three intervals.
    worker.child.signal("KILL").expect("kill");
    let killed = Instant::now();
    wait_until(
        "the record to expire",
        Duration::from_millis(3 * INTERVAL + 500),
        || heartbeat(&redis, 1).is_none().then_some(()),
    )
    .expect("expires");
    assert!(
        killed.elapsed() <= Duration::from_millis(3 * INTERVAL + 300),
        "{:?}",
        killed.elapsed()
    );

    // SIGTERM with a joined client: draining shows first, the client is told and closed,
    // the shard deregisters and the process exits 0 within the drain bound.
    let mut worker = start_worker("drain", &envs).expect("worker");
    let client = spawn_node("drain.mjs", &[worker.url(), "drain-room".into()]).expect("node");
    wait_until("the client to join", Duration::from_secs(10), || {
        value(worker.port, "roomshard_worker_players")
            .ok()
            .filter(|p| *p >= 1.0)
    })
    .expect("joined");
    worker.child.signal("TERM").expect("term");
    let termed = Instant::now();
    let hb = wait_until("a draining heartbeat", Duration::from_secs(2), || {
        heartbeat(&redis, 1).filter(|h| h.draining)
    })
    .expect("draining shows");
    assert!(hb.draining);
    let in_set = redis
        .query(&["SISMEMBER", "roomshard:{default}:draining", "1"])
        .expect("sismember");
    assert_eq!(in_set, Reply::Int(1));
    let status = worker
        .child
        .wait_exit(Duration::from_secs(10))
        .expect("exits");
    assert!(status.success(), "{status}");
    assert!(
        termed.elapsed() < Duration::from_secs(6),
        "{:?}",
        termed.elapsed()
    );
    assert!(heartbeat(&redis, 1).is_none(), "deregistered");
    let in_set = redis
        .query(&["SISMEMBER", "roomshard:{default}:draining", "1"])
        .expect("sismember");
    assert_eq!(in_set, Reply::Int(0));
    let lines = client.finish(Duration::from_secs(10)).expect("node");
    assert!(lines.iter().any(|l| l["joined"] == true), "{lines:?}");
    let notice = lines
        .iter()
        .find(|l| l.get("draining").is_some())
        .expect("draining notice");
    assert_eq!(notice["draining"]["closesInMs"], 2000);
    assert!(
        lines.iter().any(|l| l["late_join"] == "draining"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.get("disconnected").is_some()),
        "{lines:?}"
    );
    // The seat was given back.
    let players = redis
        .query(&["HGET", "roomshard:{default}:room:drain-room", "players"])
        .unwrap_or(Reply::Nil);
    assert!(
        players.as_text() == Some("0") || players.is_nil(),
        "{players:?}"
    );
}

struct Reserve<'a> {
    redis: &'a RedisServer,
    key: TokenKey,
    keys: Keys,
}

impl Reserve<'_> {
    /// Writes a room of `shard` and a reservation in it, as the matchmaker does, and
    /// returns the signed token.
    fn seat(&self, room: &str, shard: u32, ttl_ms: u64, token_exp: u64) -> (String, String) {
        let now = roomshard_protocol::now_ms();
        let nonce = new_nonce();
        let k = &self.keys;
        let (room_key, now_s) = (k.room(room), now.to_string());
        let (shard_s, expires) = (shard.to_string(), (now + ttl_ms).to_string());
        for (field, value) in [
            ("schema", "1"),
            ("shard", shard_s.as_str()),
            ("track", "ctf"),
            ("capacity", "4"),
            ("players", "0"),
            ("created_at", now_s.as_str()),
        ] {
            self.redis
                .query(&["HSETNX", &room_key, field, value])
                .expect("HSETNX");
        }
        let record = format!(
            r#"{{"nonce":"{nonce}","room":"{room}","track":"ctf","shard":{shard},"expires_at":{expires}}}"#
        );
        let ttl = ttl_ms.to_string();
        let cmds: [&[&str]; 3] = [
            &["ZADD", &k.rooms(), &now_s, room],
            &["ZADD", &k.room_reservations(room), &expires, &nonce],
            &["SET", &k.reservation(room, &nonce), &record, "PX", &ttl],
        ];
        for c in cmds {
            self.redis.query(c).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        let claims = Claims {
            v: TOKEN_VERSION,
            set: "default".into(),
            room: room.into(),
            shard,
            player: "p".into(),
            bound: false,
            exp: token_exp,
            nonce: nonce.clone(),
        };
        (self.key.sign(&claims), nonce)
    }
}

fn join_acks(url: &str, payloads: serde_json::Value) -> Vec<serde_json::Value> {
    let lines = run_node(
        "join.mjs",
        &[url.into(), payloads.to_string()],
        Duration::from_secs(30),
    )
    .expect("node");
    lines
        .into_iter()
        .filter_map(|l| l.get("ack").cloned())
        .collect()
}

fn code(ack: &serde_json::Value) -> String {
    if ack["ok"] == true {
        "ok".into()
    } else {
        ack["error"]["code"].as_str().unwrap_or("?").to_owned()
    }
}

#[test]
fn reservation_tokens_are_single_use_and_checked() {
    let redis = RedisServer::start().expect("redis");
    let worker = start_worker(
        "tokens",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/2".into()),
            ("ROOMSHARD_TOKEN_SECRET", SECRET.into()),
            ("RESUME_WINDOW_MS", "200".into()),
        ],
    )
    .expect("worker");
    let r = Reserve {
        redis: &redis,
        key: TokenKey::new(SECRET.as_bytes().to_vec()).expect("key"),
        keys: Keys::new("default").expect("keys"),
    };
    let later = roomshard_protocol::now_ms() + 60_000;
    let (good, nonce) = r.seat("arena", 0, 30_000, later);
    let (expired_token, _) = r.seat("arena", 0, 30_000, roomshard_protocol::now_ms() - 1);
    let (other_shard, _) = r.seat("elsewhere", 1, 30_000, later);
    let (gone_resv, gone_nonce) = r.seat("arena", 0, 30_000, later);
    redis
        .query(&["DEL", &r.keys.reservation("arena", &gone_nonce)])
        .expect("del");
    let (payload, sig) = good.split_once('.').expect("token");
    let mut sig_bytes: Vec<char> = sig.chars().collect();
    sig_bytes[0] = if sig_bytes[0] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{payload}.{}", sig_bytes.into_iter().collect::<String>());

    let acks = join_acks(
        &worker.url(),
        serde_json::json!([
            {"room": "arena"},
            {"room": "arena", "token": tampered},
            {"room": "arena", "token": expired_token},
            {"room": "elsewhere", "token": other_shard},
            {"room": "other-room", "token": good},
            {"room": "arena", "token": gone_resv},
            {"room": "arena", "token": good},
            {"room": "arena", "token": good},
        ]),
    );
    let codes: Vec<String> = acks.iter().map(code).collect();
    assert_eq!(
        codes,
        [
            "token_required",
            "token_invalid",
            "token_expired",
            "wrong_shard",
            "reservation_invalid",
            "reservation_invalid",
            "ok",
            "reservation_invalid",
        ],
        "{acks:#?}"
    );
    let ok = &acks[6];
    assert_eq!(ok["room"], "arena");
    assert_eq!(ok["shard"], 0);
    assert_eq!(ok["players"], 1);
    // The reservation was used: its key and its entry are gone. The join.mjs connection
    // closed afterwards, so the seat is free again once the resume window ran out.
    let used = redis
        .query(&["GET", &r.keys.reservation("arena", &nonce)])
        .expect("get");
    assert!(used.is_nil(), "{used:?}");
    let score = redis
        .query(&["ZSCORE", &r.keys.room_reservations("arena"), &nonce])
        .expect("zscore");
    assert!(score.is_nil(), "{score:?}");
    wait_until("the seat to be freed", Duration::from_secs(5), || {
        let p = redis
            .query(&["HGET", &r.keys.room("arena"), "players"])
            .ok()?;
        (p.as_text() == Some("0")).then_some(())
    })
    .expect("freed");
}

#[test]
fn empty_rooms_leave_the_registry_after_the_grace_period() {
    let redis = RedisServer::start().expect("redis");
    let worker = start_worker(
        "close",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOM_EMPTY_GRACE_MS", "300".into()),
            ("RESUME_WINDOW_MS", "300".into()),
            ("DEFAULT_TRACK", "duel".into()),
        ],
    )
    .expect("worker");
    let acks = join_acks(&worker.url(), serde_json::json!([{"room": "brief"}]));
    assert_eq!(code(&acks[0]), "ok");
    let keys = Keys::new("default").expect("keys");
    wait_until("the room to close", Duration::from_secs(5), || {
        let checks: [&[&str]; 4] = [
            &["EXISTS", &keys.room("brief")],
            &["SISMEMBER", &keys.track_rooms("duel"), "brief"],
            &["ZSCORE", &keys.rooms(), "brief"],
            &["SISMEMBER", &keys.shard_rooms(0), "brief"],
        ];
        for c in checks {
            if !absent(&redis.query(c).ok()?) {
                return None;
            }
        }
        Some(())
    })
    .expect("closed");
}

#[test]
fn two_workers_share_a_room() {
    let redis = RedisServer::start().expect("redis");
    share_a_room(redis.url(), || vec![redis.port()]);
}

/// The same on a Redis Cluster: the seats in the room's slot, the Socket.IO adapter and
/// the room sync over the cluster's pub/sub.
#[test]
fn two_workers_share_a_room_on_a_cluster() {
    let cluster = roomshard_testkit::redis_cluster::RedisCluster::start().expect("cluster");
    share_a_room(cluster.url(), || cluster.primaries().expect("primaries"));
}

/// Two workers, one room: each sees the other's players, moves, chat and presence. Room
/// traffic goes over sharded pub/sub (`SPUBLISH`); the Socket.IO adapter's classic
/// channels carry none of it.
fn share_a_room(redis_url: String, primaries: impl Fn() -> Vec<u16>) {
    let stats = || {
        let each: Vec<ServerStats> = primaries()
            .into_iter()
            .map(|p| ServerStats::read(p).expect("INFO"))
            .collect();
        ServerStats::total(&each)
    };
    let before = stats();
    let a = start_worker(
        "pair-a",
        &[
            ("REDIS_URL", redis_url.clone()),
            ("ROOM_SHARD", "0/2".into()),
        ],
    )
    .expect("a");
    let b = start_worker(
        "pair-b",
        &[("REDIS_URL", redis_url), ("ROOM_SHARD", "1/2".into())],
    )
    .expect("b");
    let lines = run_node(
        "pair.mjs",
        &[a.url(), b.url(), "shared".into()],
        Duration::from_secs(40),
    )
    .unwrap_or_else(|e| panic!("{e}\nA:\n{}\nB:\n{}", a.logs(), b.logs()));
    assert_eq!(check(&lines, "join_a"), true);
    assert_eq!(
        check(&lines, "join_b")["players"],
        2,
        "the room's count lives in Redis"
    );
    assert_eq!(check(&lines, "a_sees_b_join"), 2);
    assert_eq!(check(&lines, "a_sees_b_move"), true);
    assert_eq!(check(&lines, "b_sees_a_move"), true);
    assert_eq!(check(&lines, "a_loses_far_b"), true);
    assert_eq!(check(&lines, "a_hears_b"), "across workers");
    assert_eq!(
        check(&lines, "a_sees_b_away"),
        2,
        "a dropped player keeps its seat"
    );
    assert_eq!(check(&lines, "b_resumes_and_a_sees_it_back"), true);
    assert_eq!(check(&lines, "a_sees_b_leave"), 1);
    let used = stats().since(&before);
    assert!(
        used.calls("spublish") > 0,
        "room sync is sharded pub/sub: {used:?}"
    );
    assert_eq!(
        used.calls("publish"),
        0,
        "nothing of a room's traffic goes through the Socket.IO adapter: {used:?}"
    );
}

#[test]
fn operator_drain_mark_refuses_joins_until_lifted() {
    let redis = RedisServer::start().expect("redis");
    let keys = Keys::new("default").expect("keys");
    let worker = start_worker(
        "marked",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "1/2".into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
            ("HEARTBEAT_INTERVAL_MS", "300".into()),
            ("DEFAULT_TRACK", "ctf".into()),
            // The room joined before the drain stays open for the whole test.
            ("ROOM_EMPTY_GRACE_MS", "600000".into()),
        ],
    )
    .expect("worker");
    let acks = join_acks(&worker.url(), serde_json::json!([{"room": "before"}]));
    assert_eq!(acks.iter().map(code).collect::<Vec<_>>(), ["ok"]);
    let index = keys.track_index("ctf");
    let free_seats = || {
        redis
            .query(&["ZSCORE", &index.free, "before"])
            .ok()?
            .as_text()
            .and_then(|t| t.parse::<u32>().ok())
    };
    wait_until(
        "the room's free seats in its track's index",
        Duration::from_secs(20),
        || free_seats().filter(|f| *f > 0),
    )
    .expect("indexed");

    // What the operator does on scale-down.
    redis.query(&["SADD", &keys.draining(), "1"]).expect("sadd");
    wait_until(
        "the heartbeat to show draining",
        // Deadlines, not sleeps: generous for a machine loaded by the whole suite.
        Duration::from_secs(20),
        || heartbeat(&redis, 1).filter(|hb| hb.draining),
    )
    .expect("draining heartbeat");
    let acks = join_acks(&worker.url(), serde_json::json!([{"room": "during"}]));
    assert_eq!(acks.iter().map(code).collect::<Vec<_>>(), ["draining"]);
    // Its rooms are marked too, so no matchmaker places a seat there, whatever its view.
    let marked = redis
        .query(&["HGET", &keys.room("before"), "draining"])
        .expect("hget");
    assert_eq!(marked.as_text(), Some("1"), "{marked:?}");
    assert_eq!(free_seats(), Some(0), "a draining room offers no seat");
    assert_eq!(
        value(worker.port, "roomshard_worker_draining").ok(),
        Some(1.0)
    );

    // Scaling back up lifts the mark.
    redis.query(&["SREM", &keys.draining(), "1"]).expect("srem");
    wait_until(
        "the heartbeat to stop draining",
        Duration::from_secs(20),
        || heartbeat(&redis, 1).filter(|hb| !hb.draining),
    )
    .expect("healthy heartbeat");
    let acks = join_acks(&worker.url(), serde_json::json!([{"room": "after"}]));
    assert_eq!(acks.iter().map(code).collect::<Vec<_>>(), ["ok"]);
    wait_until(
        "the room to offer seats again",
        Duration::from_secs(5),
        || free_seats().filter(|f| *f > 0),
    )
    .expect("unmarked");
}

/// A report to a track's placement index lost to a crash (the index says the room is
/// full) is made good by the worker's sweep of its rooms.
#[test]
fn the_sweep_heals_a_placement_index_left_stale() {
    let redis = RedisServer::start().expect("redis");
    let keys = Keys::new("default").expect("keys");
    let worker = start_worker(
        "sweep",
        &[
            ("REDIS_URL", redis.url()),
            ("ROOM_SHARD", "0/1".into()),
            ("ROOMSHARD_REQUIRE_TOKEN", "false".into()),
            ("HEARTBEAT_INTERVAL_MS", "100".into()),
            ("DEFAULT_TRACK", "ctf".into()),
            ("ROOM_EMPTY_GRACE_MS", "600000".into()),
        ],
    )
    .expect("worker");
    let acks = join_acks(&worker.url(), serde_json::json!([{"room": "kept"}]));
    assert_eq!(acks.iter().map(code).collect::<Vec<_>>(), ["ok"]);
    let index = keys.track_index("ctf");
    let free_seats = || {
        redis
            .query(&["ZSCORE", &index.free, "kept"])
            .ok()?
            .as_text()
            .and_then(|t| t.parse::<u32>().ok())
    };
    wait_until("the room in its index", Duration::from_secs(5), || {
        free_seats().filter(|f| *f > 0)
    })
    .expect("indexed");
    for cmd in [
        &["ZADD", &index.free, "0", "kept"][..],
        &["HDEL", &index.version, "kept"],
    ] {
        redis.query(cmd).expect("stale index");
    }
    wait_until(
        "the sweep to post the room again",
        Duration::from_secs(15),
        || free_seats().filter(|f| *f > 0),
    )
    .expect("healed");
}
