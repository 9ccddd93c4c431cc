//! Reservation behaviour against a real Redis and the real binary: expiry, idempotency,
//! draining and stale shards, named rooms, lost rooms, tokens. Every test runs twice: on one
//! `redis-server` (`…::single`) and on a Redis Cluster of three primaries and three
//! replicas (`…::cluster`), where the set's keys spread over many slots.

#[macro_use]
mod common;

use common::{
    Backend, Matchmaker, beat, beat_all, cap, heartbeat, keys, nonce_of, redis, reserve, token_key,
};
use fred::prelude::*;
use roomshard_protocol::records::Reservation;
use roomshard_protocol::token::TOKEN_VERSION;
use roomshard_protocol::{now_ms, shard_for_room};
use roomshard_testkit::process::wait_until_async;
use serde_json::json;
use std::time::Duration;

/// What a worker does when a player joins with a token (docs/REDIS.md, "Join").
async fn join(client: &Client, room: &str, nonce: &str) -> anyhow::Result<i64> {
    let k = keys();
    let script = "if redis.call('DEL', KEYS[1]) == 1 then \
                    redis.call('ZREM', KEYS[2], ARGV[1]); \
                    return redis.call('HINCRBY', KEYS[3], 'players', 1) \
                  end return -1";
    Ok(client
        .eval(
            script,
            vec![
                k.reservation(room, nonce),
                k.room_reservations(room),
                k.room(room),
            ],
            vec![nonce.to_owned()],
        )
        .await?)
}

on_single_server_and_cluster!(
    expiry_frees_seats_and_joins_keep_them,
    idempotency_key_returns_the_same_reservation,
    draining_and_stale_shards_get_nothing,
    named_rooms_and_lost_rooms,
    tokens_verify_and_match_the_response_and_the_record,
    a_kept_shard_view_never_outlives_the_shards_it_names,
    a_burst_fills_rooms_instead_of_opening_one_each,
);

/// Requests that find no seat at the same moment open one room between them: 24 at once,
/// with rooms of 8, make 3 full rooms, not 24 rooms of one player.
async fn a_burst_fills_rooms_instead_of_opening_one_each(
    server: impl Backend,
) -> anyhow::Result<()> {
    beat_all(server.port(), 3, cap(100, 8))?;
    let mm = std::sync::Arc::new(Matchmaker::start(&server.url(), &[]).await?);
    let mut calls = Vec::new();
    for i in 0..24 {
        let mm = mm.clone();
        calls.push(tokio::spawn(async move {
            reserve(&mm, json!({"track": "burst", "player": format!("p{i}")})).await
        }));
    }
    let mut per_room = std::collections::BTreeMap::<String, u32>::new();
    for call in calls {
        let (status, body) = call.await?;
        assert_eq!(status, 200, "{body}");
        let room = body["room"].as_str().unwrap_or_default().to_owned();
        *per_room.entry(room).or_default() += 1;
    }
    assert_eq!(per_room.len(), 3, "three rooms of eight: {per_room:?}");
    assert!(per_room.values().all(|n| *n == 8), "{per_room:?}");
    Ok(())
}

async fn expiry_frees_seats_and_joins_keep_them(server: impl Backend) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    beat_all(server.port(), 1, cap(1, 2))?;
    let mm = Matchmaker::start(&server.url(), &[("RESERVATION_TTL_MS", "400")]).await?;

    let (s1, a) = reserve(&mm, json!({})).await;
    let (s2, b) = reserve(&mm, json!({})).await;
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["room"], b["room"], "the fullest room is filled first");
    assert_eq!(a["track"], "default");
    let (s3, c) = reserve(&mm, json!({})).await;
    assert_eq!(s3, 503, "{c}");
    assert_eq!(c["error"]["code"], "no_capacity");

    // A used reservation turns into a player, who keeps the seat after the TTL.
    let room = a["room"].as_str().unwrap_or_default().to_owned();
    let b_nonce = nonce_of(&b);
    assert_eq!(join(&client, &room, &nonce_of(&a)).await?, 1);
    assert_eq!(
        join(&client, &room, &nonce_of(&a)).await?,
        -1,
        "a token is single-use"
    );

    // The other reservation expires and frees exactly one seat.
    let again = wait_until_async(
        "an expired seat to be free",
        Duration::from_secs(5),
        || async {
            let (s, body) = reserve(&mm, json!({})).await;
            (s == 200).then_some(body)
        },
    )
    .await?;
    assert_eq!(again["room"], a["room"]);
    let (s, full) = reserve(&mm, json!({})).await;
    assert_eq!(s, 503, "player + live reservation fill the room: {full}");
    let expired: bool = client.exists(keys().reservation(&room, &b_nonce)).await?;
    assert!(
        !expired,
        "the reservation record expires with the reservation"
    );
    Ok(())
}

async fn idempotency_key_returns_the_same_reservation(server: impl Backend) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    beat_all(server.port(), 2, cap(10, 4))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;

    let body = json!({"player": "ann", "idempotencyKey": "retry-1", "track": "ctf"});
    let (s1, first) = reserve(&mm, body.clone()).await;
    let (s2, second) = mm
        .post_json(
            "/rooms/reserve",
            &json!({"player": "bob", "idempotencyKey": "retry-1"}),
        )
        .await?;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(
        first, second,
        "a retry gets the very same reservation and token"
    );
    let (_, other) = reserve(&mm, json!({"idempotencyKey": "retry-2", "track": "ctf"})).await;
    assert_ne!(nonce_of(&other), nonce_of(&first));
    let room = first["room"].as_str().unwrap_or_default();
    let held: u32 = client.zcard(keys().room_reservations(room)).await?;
    assert_eq!(held, 2, "the retry held no second seat");
    // Idempotency keys are scoped to their caller; an anonymous caller's scope is "anon".
    let ttl: i64 = client.pttl(keys().idempotency("anon:retry-1")).await?;
    assert!(
        ttl > 0 && ttl <= 30_000,
        "idem key expires with the reservation: {ttl}"
    );
    Ok(())
}

async fn draining_and_stale_shards_get_nothing(server: impl Backend) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    let k = keys();
    let c = cap(10, 4);
    let mut flagged = heartbeat(0, 4, c);
    flagged.draining = true;
    beat(server.port(), &flagged, 60_000)?;
    beat(server.port(), &heartbeat(1, 4, c), 60_000)?;
    let _: () = client.sadd(k.draining(), "1").await?;
    let mut stale = heartbeat(2, 4, c);
    stale.sent_at = now_ms() - 60_000;
    beat(server.port(), &stale, 60_000)?;
    let mut gone = heartbeat(3, 4, c);
    gone.sent_at = now_ms();
    beat(server.port(), &gone, 60_000)?;
    let _: () = client.del(k.shard(3)).await?;

    let mm = Matchmaker::start(&server.url(), &[]).await?;
    let (s, body) = reserve(&mm, json!({})).await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_capacity");

    let (s, rooms) = mm.get("/rooms").await?;
    assert_eq!(s, 200);
    let shards = rooms["shards"].as_array().cloned().unwrap_or_default();
    let flags: Vec<(bool, bool)> = shards
        .iter()
        .map(|s| {
            (
                s["healthy"].as_bool().unwrap_or(true),
                s["draining"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        flags,
        vec![(true, true), (true, true), (false, false), (false, false)]
    );
    assert_eq!(shards[0]["worker"], "game-0");
    assert!(shards[0]["lastHeartbeatMs"].as_u64().unwrap_or(0) > 0);
    assert_eq!(shards[0]["capacity"]["playersPerRoom"], 4);

    // Shard 2 beats again: it takes the seat.
    beat(server.port(), &heartbeat(2, 4, c), 60_000)?;
    let (s, body) = reserve(&mm, json!({})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["shard"], 2);
    let room = body["room"].as_str().unwrap_or_default().to_owned();

    // Once shard 2 drains, its room takes no seat either, named or not: the operator's mark
    // refuses new rooms there, and the worker marks its rooms (docs/REDIS.md, "Draining"),
    // which this test does in its place.
    let _: () = client.sadd(k.draining(), "2").await?;
    drain_room_as_its_worker_does(&client, &room).await?;
    let (s, body) = reserve(&mm, json!({})).await;
    assert_eq!(s, 503, "{body}");
    let (s, body) = reserve(&mm, json!({"room": room})).await;
    assert_eq!(s, 503, "{body}");
    Ok(())
}

async fn named_rooms_and_lost_rooms(server: impl Backend) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    let k = keys();
    beat_all(server.port(), 2, cap(1, 2))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;

    let (_, a) = reserve(&mm, json!({"track": "alpha"})).await;
    let (_, b) = reserve(&mm, json!({"track": "beta"})).await;
    assert_ne!(
        a["shard"], b["shard"],
        "new rooms go to the least-loaded shard"
    );
    let room_a = a["room"].as_str().unwrap_or_default().to_owned();
    let (s, named) = reserve(&mm, json!({"room": room_a})).await;
    assert_eq!(s, 200, "{named}");
    assert_eq!(named["room"], a["room"]);
    assert_eq!(named["track"], "alpha");
    let (s, full) = reserve(&mm, json!({"room": room_a})).await;
    assert_eq!(s, 409, "{full}");
    assert_eq!(full["error"]["code"], "room_full");
    let (s, missing) = reserve(&mm, json!({"room": "no-such-room"})).await;
    assert_eq!(s, 404, "{missing}");
    assert_eq!(missing["error"]["code"], "room_not_found");

    let (_, only_beta) = mm.get("/rooms?track=beta").await?;
    let listed: Vec<&str> = only_beta["rooms"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["room"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, vec![b["room"].as_str().unwrap_or_default()]);

    // A dropped player asks after its room alone: its shard, and whether it is lost.
    let room_b = b["room"].as_str().unwrap_or_default().to_owned();
    let (s, owner) = mm.get(&format!("/rooms/{room_a}")).await?;
    assert_eq!(s, 200, "{owner}");
    assert_eq!(
        owner,
        json!({"room": room_a, "shard": a["shard"], "lost": false})
    );
    let (s, missing) = mm.get("/rooms/no-such-room").await?;
    assert_eq!(s, 404, "{missing}");
    assert_eq!(missing["error"]["code"], "room_not_found");
    let (s, bad) = mm.get("/rooms/a%20b%7B").await?;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["code"], "bad_request");

    // The shard of room b stops beating: its room is reported lost, not silently kept.
    let dead = b["shard"].as_u64().unwrap_or(0) as u32;
    let _: () = client.del(k.shard(dead)).await?;
    wait_until_async(
        "room b to be told lost",
        Duration::from_secs(10),
        || async {
            let (s, owner) = mm.get(&format!("/rooms/{room_b}")).await.ok()?;
            (s == 200 && owner["lost"] == true).then_some(())
        },
    )
    .await?;
    let (s, all) = mm.get("/rooms").await?;
    assert_eq!(s, 200);
    let rooms = all["rooms"].as_array().cloned().unwrap_or_default();
    assert_eq!(rooms.len(), 2);
    for r in &rooms {
        let lost = r["lost"].as_bool().unwrap_or(false);
        assert_eq!(lost, r["room"] == b["room"], "{r}");
        if r["room"] == a["room"] {
            assert_eq!(r["reserved"], 2);
            assert_eq!(r["capacity"], 2);
            assert_eq!(r["players"], 0);
        }
    }
    let score: Option<f64> = client
        .zscore(k.lost_rooms(), b["room"].as_str().unwrap_or_default())
        .await?;
    assert!(score.is_some(), "lost room recorded in lost-rooms");
    // A closed room is gone: the player's seat there is too.
    let _: () = client.del(k.room(&room_b)).await?;
    let (s, gone) = mm.get(&format!("/rooms/{room_b}")).await?;
    assert_eq!(s, 404, "{gone}");
    Ok(())
}

async fn tokens_verify_and_match_the_response_and_the_record(
    server: impl Backend,
) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    let mut own_url = heartbeat(0, 2, cap(1, 4));
    own_url.url = "wss://shard0.example/io".into();
    beat(server.port(), &own_url, 60_000)?;
    beat(server.port(), &heartbeat(1, 2, cap(1, 4)), 60_000)?;
    let mm = Matchmaker::start(
        &server.url(),
        &[("PUBLIC_URL", "wss://play.example.com/shard/{shard}")],
    )
    .await?;

    let mut seen_urls = Vec::new();
    for player in ["ann", "bob"] {
        let before = now_ms();
        let (s, body) = reserve(&mm, json!({"player": player, "track": player})).await;
        assert_eq!(s, 200, "{body}");
        let obj = body.as_object().cloned().unwrap_or_default();
        let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            vec![
                "expiresAt",
                "room",
                "shard",
                "token",
                "track",
                "url",
                "worker"
            ]
        );
        let claims = token_key().verify(body["token"].as_str().unwrap_or_default(), now_ms())?;
        assert_eq!(claims.v, TOKEN_VERSION);
        assert_eq!(claims.set, common::SET);
        assert_eq!(claims.room, body["room"].as_str().unwrap_or_default());
        assert_eq!(
            u64::from(claims.shard),
            body["shard"].as_u64().unwrap_or(99)
        );
        assert_eq!(claims.player, player);
        assert_eq!(claims.exp, body["expiresAt"].as_u64().unwrap_or(0));
        assert!(claims.exp >= before + 29_000 && claims.exp <= now_ms() + 31_000);
        assert_eq!(shard_for_room(&claims.room, 2), claims.shard);
        let other = roomshard_protocol::token::TokenKey::new(vec![1u8; 32])?;
        assert!(
            other
                .verify(body["token"].as_str().unwrap_or_default(), now_ms())
                .is_err()
        );

        let raw: String = client
            .get(keys().reservation(&claims.room, &claims.nonce))
            .await?;
        let record = Reservation::decode(raw.as_bytes())?;
        assert_eq!(record.room, claims.room);
        assert_eq!(record.shard, claims.shard);
        assert_eq!(record.expires_at, claims.exp);
        assert_eq!(record.player, player);
        assert_eq!(record.worker, body["worker"].as_str().unwrap_or_default());
        assert_eq!(record.url, body["url"].as_str().unwrap_or_default());
        seen_urls.push((
            claims.shard,
            body["url"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    seen_urls.sort();
    assert_eq!(
        seen_urls,
        vec![
            (0, "wss://shard0.example/io".to_owned()),
            (1, "wss://play.example.com/shard/1".to_owned())
        ],
        "the heartbeat's url wins, the template fills in otherwise"
    );
    Ok(())
}

/// What a draining worker does to each of its rooms (worker/src/seats/mark.lua, without
/// the report to the track's index, which the refused grant makes).
async fn drain_room_as_its_worker_does(client: &Client, room: &str) -> anyhow::Result<()> {
    let _: () = client.hset(keys().room(room), ("draining", "1")).await?;
    let _: i64 = client.hincrby(keys().room(room), "version", 1).await?;
    Ok(())
}

/// Reservations plan with a shard view kept between heartbeats. The scripts that grant a
/// seat in a room cannot read the shards' heartbeats (they live in another slot), so the
/// view judges a shard when it is used: one whose heartbeat record, as read, has run out
/// gets no seat. A new room never goes to a shard that stopped or drains (the claim of its
/// slot reads both where they live), a room its draining worker marked takes no seat, and
/// a shard that starts after the view was read is used at once.
async fn a_kept_shard_view_never_outlives_the_shards_it_names(
    server: impl Backend,
) -> anyhow::Result<()> {
    let client = redis(&server.url()).await?;
    let k = keys();
    let c = cap(10, 2);
    // Shard 0's record runs out in a few seconds, as after three missed beats.
    beat(server.port(), &heartbeat(0, 3, c), 4_000)?;
    beat(server.port(), &heartbeat(1, 3, c), 60_000)?;
    // A long interval: the view is read once at start and kept for the whole test.
    let mm = Matchmaker::start(&server.url(), &[("HEARTBEAT_INTERVAL_MS", "600000")]).await?;
    let (s, first) = reserve(&mm, json!({"track": "zero"})).await;
    assert_eq!((s, first["shard"].as_u64()), (200, Some(0)), "{first}");
    let (s, second) = reserve(&mm, json!({"track": "one"})).await;
    assert_eq!((s, second["shard"].as_u64()), (200, Some(1)), "{second}");

    // Shard 0 stops beating and its record expires; shard 1 drains. The kept view still
    // names both, and both rooms still have a seat.
    wait_until_async(
        "shard 0's heartbeat to expire",
        Duration::from_secs(10),
        || async { (!client.exists::<bool, _>(k.shard(0)).await.ok()?).then_some(()) },
    )
    .await?;
    let _: () = client.sadd(k.draining(), "1").await?;
    drain_room_as_its_worker_does(&client, second["room"].as_str().unwrap_or_default()).await?;
    for body in [
        json!({"track": "zero"}),
        json!({"track": "one"}),
        json!({"track": "new"}),
        json!({"room": first["room"]}),
        json!({"room": second["room"]}),
    ] {
        let (s, answer) = reserve(&mm, body.clone()).await;
        assert_eq!(s, 503, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "no_capacity", "{body}: {answer}");
    }

    // Shard 2 starts after the view was read: it takes the next seats straight away.
    beat(server.port(), &heartbeat(2, 3, c), 60_000)?;
    for _ in 0..3 {
        let (s, body) = reserve(&mm, json!({})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["shard"], 2, "{body}");
    }
    Ok(())
}

/// On a cluster, one set's reservations spread over the primaries: each room, track and
/// the shards' group have a hash tag of their own.
#[tokio::test]
async fn a_set_spreads_over_a_clusters_primaries() -> anyhow::Result<()> {
    let cluster = roomshard_testkit::redis_cluster::RedisCluster::start()?;
    beat_all(cluster.port(), 4, cap(100, 2))?;
    let mm = Matchmaker::start(&cluster.url(), &[]).await?;
    for i in 0..40 {
        let (s, body) = reserve(&mm, json!({"track": format!("t{}", i % 8)})).await;
        assert_eq!(s, 200, "{body}");
    }
    let counts = cluster.keys_per_primary()?;
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.iter().all(|n| *n > 0),
        "keys on every primary: {counts:?}"
    );
    Ok(())
}
