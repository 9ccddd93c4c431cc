//! A reservation is several scripts in turn (docs/REDIS.md, "Reserve"); a matchmaker that
//! dies between two of them leaves the placement index or an idempotency key half done.
//! These tests leave them so by hand, as a crash would, and check that what follows heals:
//! the index offers the seat again, and a retry gets the one reservation it was making.

mod common;

use common::{Matchmaker, beat_all, cap, keys, nonce_of, redis, reserve};
use fred::prelude::*;
use roomshard_testkit::process::wait_until_async;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::time::Duration;

/// Holds a seat of `track` in its index as place.lua does, with no grant after it: what a
/// matchmaker killed between the two leaves behind.
async fn hold_without_grant(
    client: &Client,
    track: &str,
    ttl_ms: u64,
) -> anyhow::Result<Vec<String>> {
    let index = keys().track_index(track);
    let keys: Vec<String> = index.all().map(str::to_owned).to_vec();
    let args: Vec<String> = [ttl_ms.to_string(), "1000".into(), "2".into(), "0".into()]
        .into_iter()
        // No shard excluded.
        .chain(["0".to_owned()])
        .collect();
    Ok(client
        .eval(include_str!("../src/store/place.lua"), keys, args)
        .await?)
}

#[tokio::test]
async fn a_seat_held_by_a_matchmaker_that_died_is_offered_again() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    // One room of two seats, and no room for another.
    beat_all(server.port(), 1, cap(1, 2))?;
    let ttl = 500;
    let mm = Matchmaker::start(&server.url(), &[("RESERVATION_TTL_MS", "500")]).await?;
    let (s, first) = reserve(&mm, json!({"track": "t"})).await;
    assert_eq!(s, 200, "{first}");
    let room = first["room"].as_str().unwrap_or_default().to_owned();

    let held = hold_without_grant(&client, "t", ttl).await?;
    assert_eq!(held.get(1), Some(&room), "{held:?}");
    let free: Option<f64> = client.zscore(keys().track_index("t").free, &room).await?;
    assert_eq!(free, Some(0.0), "the index counts the dead hold");

    // The room has a seat the index does not offer; once the hold's reservation would
    // have expired, the room is read again and the seat taken.
    let again = wait_until_async(
        "the held seat to be offered again",
        Duration::from_secs(10),
        || async {
            let (s, body) = reserve(&mm, json!({"track": "t"})).await;
            (s == 200).then_some(body)
        },
    )
    .await?;
    assert_eq!(again["room"].as_str(), Some(room.as_str()));
    Ok(())
}

#[tokio::test]
async fn a_retry_carries_out_the_plan_of_a_matchmaker_that_died() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    beat_all(server.port(), 2, cap(10, 4))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;
    let (s, first) = reserve(&mm, json!({"track": "t", "idempotencyKey": "a"})).await;
    assert_eq!(s, 200, "{first}");
    let room = first["room"].as_str().unwrap_or_default().to_owned();
    let idem = keys().idempotency("anon:a");

    // Killed after the grant but before the key said so: the retry finds the plan, carries
    // it out again, and the grant answers the reservation it already made.
    let nonce = nonce_of(&first);
    let _: () = client
        .set(&idem, format!("w {nonce} old {room}"), None, None, false)
        .await?;
    let (s, retry) = reserve(&mm, json!({"track": "t", "idempotencyKey": "a"})).await;
    assert_eq!(s, 200, "{retry}");
    assert_eq!(retry, first, "the same reservation and token");

    // Killed after planning a seat but before the grant: the retry grants it, under the
    // nonce the plan names.
    let planned = "n0planned0by0the0dead0";
    let _: () = client
        .set(
            keys().idempotency("anon:b"),
            format!("w {planned} old {room}"),
            None,
            None,
            false,
        )
        .await?;
    let (s, carried) = reserve(&mm, json!({"track": "t", "idempotencyKey": "b"})).await;
    assert_eq!(s, 200, "{carried}");
    assert_eq!(carried["room"].as_str(), Some(room.as_str()));
    assert_eq!(nonce_of(&carried), planned);
    let held: u32 = client.zcard(keys().room_reservations(&room)).await?;
    assert_eq!(held, 2, "one seat per key");
    let (_, once_more) = reserve(&mm, json!({"track": "t", "idempotencyKey": "b"})).await;
    assert_eq!(once_more, carried);

    // A value no release wrote is taken over, never trusted.
    let _: () = client
        .set(keys().idempotency("anon:c"), "garbage", None, None, false)
        .await?;
    let (s, fresh) = reserve(&mm, json!({"track": "t", "idempotencyKey": "c"})).await;
    assert_eq!(s, 200, "{fresh}");
    let held: u32 = client.zcard(keys().room_reservations(&room)).await?;
    assert_eq!(held, 3);
    Ok(())
}
