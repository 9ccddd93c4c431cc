//! Room metadata against a real Redis and the real binary: a reservation that creates a
//! room gives it metadata, GET /rooms returns it and filters on it, a reservation with
//! metadata fills only rooms of the same metadata (from a placement index of their own),
//! and a private room is never listed nor filled by a reservation that does not name it.
//! Every test runs on one `redis-server` and on a Redis Cluster.

#[macro_use]
mod common;

use common::{Backend, Matchmaker, beat_all, cap, keys, redis, reserve};
use fred::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

on_single_server_and_cluster!(
    metadata_is_kept_listed_and_filtered,
    private_rooms_are_reached_only_by_name,
    a_burst_with_metadata_fills_its_own_rooms,
);

fn room_of(body: &Value) -> String {
    body["room"].as_str().unwrap_or_default().to_owned()
}

async fn listed(mm: &Matchmaker, query: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) = mm.get(&format!("/rooms{query}")).await?;
    anyhow::ensure!(status == 200, "{query}: {body}");
    Ok(body["rooms"].as_array().cloned().unwrap_or_default())
}

fn names(rooms: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = rooms.iter().map(room_of).collect();
    n.sort();
    n
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn metadata_is_kept_listed_and_filtered(server: impl Backend) -> anyhow::Result<()> {
    beat_all(server.port(), 2, cap(50, 16))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;

    let ctf_meta = json!({"mode": "ctf", "map": "dust", "region": "eu", "ranked": true});
    let (s, ctf) = reserve(&mm, json!({"metadata": ctf_meta})).await;
    assert_eq!(s, 200, "{ctf}");
    assert_eq!(ctf["track"], "default");
    let (s, dm) = reserve(&mm, json!({"metadata": {"mode": "dm"}})).await;
    assert_eq!(s, 200, "{dm}");
    assert_ne!(
        room_of(&ctf),
        room_of(&dm),
        "other metadata is another room"
    );
    // The same metadata, in another key order, fills the room it describes.
    let (s, again) = reserve(
        &mm,
        json!({"metadata": {"ranked": true, "region": "eu", "map": "dust", "mode": "ctf"}}),
    )
    .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(room_of(&again), room_of(&ctf));
    // Part of it is other metadata: a room of its own.
    let (_, part) = reserve(&mm, json!({"metadata": {"mode": "ctf"}})).await;
    assert_ne!(room_of(&part), room_of(&ctf), "{part}");
    // No metadata: a plain room, never one that says what it is about.
    let (s, plain) = reserve(&mm, json!({})).await;
    assert_eq!(s, 200, "{plain}");
    let meta_rooms = [room_of(&ctf), room_of(&dm), room_of(&part)];
    assert!(!meta_rooms.contains(&room_of(&plain)), "{plain}");
    let (_, plain2) = reserve(&mm, json!({})).await;
    assert_eq!(room_of(&plain2), room_of(&plain), "plain rooms fill first");
    // Another track with the same metadata is another room.
    let (_, other_track) = reserve(&mm, json!({"track": "b", "metadata": {"mode": "dm"}})).await;
    assert_ne!(room_of(&other_track), room_of(&dm));

    // The placement index of each metadata holds its rooms, the track's only the plain one.
    let client = redis(&server.url()).await?;
    let plain_index: Vec<String> = client
        .zrange(
            keys().track_index("default").free,
            0,
            -1,
            None,
            false,
            None,
            false,
        )
        .await?;
    assert_eq!(plain_index, [room_of(&plain)]);

    let all = listed(&mm, "").await?;
    let mut expected = meta_rooms.to_vec();
    expected.extend([room_of(&plain), room_of(&other_track)]);
    assert_eq!(names(&all), sorted(expected));
    let row = all
        .iter()
        .find(|r| r["room"] == ctf["room"])
        .ok_or_else(|| anyhow::anyhow!("ctf room not listed"))?;
    assert_eq!(row["metadata"], ctf_meta);
    assert_eq!(row["reserved"], 2);
    let plain_row = all.iter().find(|r| r["room"] == plain["room"]);
    assert!(plain_row.is_some_and(|r| r.get("metadata").is_none()));

    assert_eq!(
        names(&listed(&mm, "?mode=ctf&map=dust").await?),
        [room_of(&ctf)]
    );
    assert_eq!(
        names(&listed(&mm, "?mode=ctf").await?),
        sorted(vec![room_of(&ctf), room_of(&part)])
    );
    // A track's listing holds its rooms of every metadata.
    assert_eq!(
        names(&listed(&mm, "?track=default").await?),
        sorted(vec![
            room_of(&ctf),
            room_of(&dm),
            room_of(&part),
            room_of(&plain)
        ])
    );
    assert_eq!(
        names(&listed(&mm, "?track=default&mode=dm").await?),
        [room_of(&dm)]
    );
    assert_eq!(
        names(&listed(&mm, "?track=b&mode=dm").await?),
        [room_of(&other_track)]
    );
    assert_eq!(
        names(&listed(&mm, "?mode=ctf&ranked=true&region=eu").await?),
        [room_of(&ctf)]
    );
    assert!(listed(&mm, "?mode=ctf&region=us").await?.is_empty());

    for (query, needle) in [
        ("?mode=a&mode=b", "twice"),
        ("?bad%20key=x", "may only hold"),
        ("?limit=many", "limit"),
    ] {
        let (s, body) = mm.get(&format!("/rooms{query}")).await?;
        assert_eq!(s, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {body}");
    }
    let many: serde_json::Map<String, Value> =
        (0..17).map(|i| (format!("k{i}"), json!(1))).collect();
    for body in [
        json!({"metadata": ["ctf"]}),
        json!({"metadata": {"mode": {"nested": 1}}}),
        json!({"metadata": {"private": "yes"}}),
        json!({"metadata": {"track": "x"}}),
        json!({"metadata": {"mode": "x".repeat(65)}}),
        json!({"metadata": Value::Object(many)}),
        json!({"room": room_of(&ctf), "metadata": {"mode": "ctf"}}),
    ] {
        let (s, answer) = reserve(&mm, body.clone()).await;
        assert_eq!(s, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request", "{body}");
    }
    Ok(())
}

async fn private_rooms_are_reached_only_by_name(server: impl Backend) -> anyhow::Result<()> {
    beat_all(server.port(), 2, cap(50, 4))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;
    let secret_meta = json!({"mode": "ctf", "private": true});
    let (s, private) = reserve(&mm, json!({"metadata": secret_meta})).await;
    assert_eq!(s, 200, "{private}");
    let secret = room_of(&private);
    // A private reservation always makes its own room; nothing but its name fills it.
    let (_, private2) = reserve(&mm, json!({"metadata": secret_meta})).await;
    assert_ne!(room_of(&private2), secret);
    for body in [json!({}), json!({"metadata": {"mode": "ctf"}})] {
        let (s, other) = reserve(&mm, body.clone()).await;
        assert_eq!(s, 200, "{other}");
        assert_ne!(room_of(&other), secret, "{body} filled the private room");
    }
    // By name, with a reservation, it takes players up to its capacity.
    for _ in 0..3 {
        let (s, by_name) = reserve(&mm, json!({"room": secret})).await;
        assert_eq!(s, 200, "{by_name}");
        assert_eq!(room_of(&by_name), secret);
    }
    let (s, full) = reserve(&mm, json!({"room": secret})).await;
    assert_eq!(s, 409, "{full}");
    assert_eq!(full["error"]["code"], "room_full");

    // Never listed, whatever the query.
    for query in ["", "?track=default", "?mode=ctf", "?private=true"] {
        let rooms = listed(&mm, query).await?;
        let shown = names(&rooms);
        assert!(
            !shown.contains(&secret) && !shown.contains(&room_of(&private2)),
            "{query}: {shown:?}"
        );
    }
    // The room's seats say it is private, for the workers (open joins refuse it).
    let client = redis(&server.url()).await?;
    let flag: Option<String> = client.hget(keys().room(&secret), "private").await?;
    assert_eq!(flag.as_deref(), Some("1"));
    Ok(())
}

/// The burst guarantee of plain placement holds in each metadata's index: 24 requests of
/// one metadata and 24 plain ones at once, with rooms of 8, make three full rooms of each,
/// and no room ever holds more than its seats.
async fn a_burst_with_metadata_fills_its_own_rooms(server: impl Backend) -> anyhow::Result<()> {
    beat_all(server.port(), 3, cap(100, 8))?;
    let mm = Arc::new(Matchmaker::start(&server.url(), &[]).await?);
    let mut calls = Vec::new();
    for i in 0..48 {
        let mm = mm.clone();
        let body = if i % 2 == 0 {
            json!({"track": "burst", "player": format!("p{i}"), "metadata": {"mode": "ctf"}})
        } else {
            json!({"track": "burst", "player": format!("p{i}")})
        };
        calls.push(tokio::spawn(async move {
            (i % 2 == 0, reserve(&mm, body).await)
        }));
    }
    let mut per_room = BTreeMap::<(bool, String), u32>::new();
    for call in calls {
        let (with_metadata, (status, body)) = call.await?;
        assert_eq!(status, 200, "{body}");
        *per_room.entry((with_metadata, room_of(&body))).or_default() += 1;
    }
    let rooms_of = |m: bool| per_room.iter().filter(|((w, _), _)| *w == m).count();
    assert_eq!((rooms_of(true), rooms_of(false)), (3, 3), "{per_room:?}");
    assert!(per_room.values().all(|n| *n == 8), "{per_room:?}");
    let (s, ctf) = listed(&mm, "?track=burst&mode=ctf")
        .await
        .map(|r| (200, r))?;
    assert_eq!((s, ctf.len()), (200, 3));
    assert!(ctf.iter().all(|r| r["reserved"] == 8 && r["capacity"] == 8));
    Ok(())
}
