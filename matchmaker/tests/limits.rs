//! The front door's abuse limits against the real binary and a real Redis: rate limits per
//! client IP (behind trusted proxies too) and per player, the cap on reservations one
//! player holds, the cap on rooms per track and the track allowlist, cross-site requests,
//! CORS, and the paginated room listing.

mod common;

use common::{Matchmaker, beat_all, cap, keys, redis};
use fred::prelude::*;
use roomshard_testkit::http::Answer;
use roomshard_testkit::process::wait_until_async;
use roomshard_testkit::redis::RedisServer;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

fn assert_limited(what: &str, a: &Answer, code: &str) -> u64 {
    assert_eq!(a.status, 429, "{what}: {}", a.body);
    assert_eq!(a.json().expect("json")["error"]["code"], code, "{what}");
    let secs: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Retry-After in {:?}", a.headers));
    assert!(secs >= 1, "{what}: {secs}");
    secs
}

#[tokio::test]
async fn a_flood_from_one_ip_is_limited_while_others_reserve() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 2, cap(100, 100))?;
    let mm = Matchmaker::start(
        &server.url(),
        &[
            ("RESERVE_RATE_PER_IP", "0.5"),
            ("RESERVE_BURST_PER_IP", "5"),
            ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await?;
    let from = |ip: &'static str| vec![("X-Forwarded-For", ip)];
    for i in 0..5 {
        let a = mm
            .reserve_with(&from("203.0.113.7"), &json!({"player": format!("f{i}")}))
            .await?;
        assert_eq!(a.status, 200, "within the burst: {}", a.body);
    }
    let a = mm
        .reserve_with(&from("203.0.113.7"), &json!({"player": "f9"}))
        .await?;
    assert_limited("past the burst", &a, "rate_limited");
    // A proxy chain: the client is the hop the trusted proxy appended.
    let a = mm
        .reserve_with(
            &[("X-Forwarded-For", "198.51.100.1, 203.0.113.7")],
            &json!({}),
        )
        .await?;
    assert_limited(
        "the same client behind a spoofed first hop",
        &a,
        "rate_limited",
    );
    let a = mm
        .reserve_with(&from("203.0.113.8"), &json!({"player": "calm"}))
        .await?;
    assert_eq!(a.status, 200, "another client still reserves: {}", a.body);

    // Without trusted proxies the header is the client's word, and changes nothing.
    let direct = Matchmaker::start(
        &server.url(),
        &[
            ("RESERVE_RATE_PER_IP", "0.5"),
            ("RESERVE_BURST_PER_IP", "3"),
        ],
    )
    .await?;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let spoof = format!("192.0.2.{i}");
        let a = direct
            .reserve_with(&[("X-Forwarded-For", &spoof)], &json!({}))
            .await?;
        statuses.push(a.status);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    Ok(())
}

#[tokio::test]
async fn a_flood_for_one_player_is_limited_and_a_player_holds_few_seats() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    beat_all(server.port(), 2, cap(100, 100))?;
    let mm = Matchmaker::start(
        &server.url(),
        &[
            ("RESERVE_RATE_PER_PLAYER", "0.2"),
            ("RESERVE_BURST_PER_PLAYER", "3"),
            ("MAX_RESERVATIONS_PER_PLAYER", "1000"),
        ],
    )
    .await?;
    for _ in 0..3 {
        let a = mm.reserve_with(&[], &json!({"player": "flood"})).await?;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let a = mm.reserve_with(&[], &json!({"player": "flood"})).await?;
    assert_limited("a player past its burst", &a, "rate_limited");
    let a = mm.reserve_with(&[], &json!({"player": "calm"})).await?;
    assert_eq!(a.status, 200, "another player still reserves: {}", a.body);

    // The cap holds under concurrency: twenty at once, three seats.
    let capped = Matchmaker::start(
        &server.url(),
        &[
            ("MAX_RESERVATIONS_PER_PLAYER", "3"),
            ("RESERVATION_TTL_MS", "2000"),
        ],
    )
    .await?;
    let port = capped.port;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(async move {
                common::post_json(port, "/reserve", &json!({"player": "hoarder"}))
                    .await
                    .map(|(s, b)| (s, b["error"]["code"].clone()))
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        let (status, code) = t.await??;
        match status {
            200 => granted += 1,
            429 => assert_eq!(code, "reservation_limit"),
            other => panic!("unexpected {other} {code}"),
        }
    }
    assert_eq!(granted, 3, "the cap is atomic");
    let held: u32 = client.zcard(keys().player_reservations("hoarder")).await?;
    assert_eq!(held, 3);
    let a = capped
        .reserve_with(&[], &json!({"player": "hoarder"}))
        .await?;
    assert_limited("a player at its cap", &a, "reservation_limit");
    let a = capped
        .reserve_with(&[], &json!({"player": "other"}))
        .await?;
    assert_eq!(a.status, 200, "{}", a.body);
    // Once its reservations expire the player reserves again.
    wait_until_async(
        "the hoarder's reservations expire",
        Duration::from_secs(10),
        || {
            let mm = &capped;
            async move {
                let a = mm
                    .reserve_with(&[], &json!({"player": "hoarder"}))
                    .await
                    .ok()?;
                (a.status == 200).then_some(())
            }
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn tracks_are_capped_and_allowlisted() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 2, cap(100, 1))?;
    let mm = Matchmaker::start(
        &server.url(),
        &[("MAX_ROOMS_PER_TRACK", "2"), ("ALLOWED_TRACKS", "ctf,duel")],
    )
    .await?;
    for i in 0..2 {
        let a = mm
            .reserve_with(&[], &json!({"track": "ctf", "player": format!("p{i}")}))
            .await?;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let a = mm.reserve_with(&[], &json!({"track": "ctf"})).await?;
    assert_eq!(a.status, 409, "{}", a.body);
    assert_eq!(a.json()?["error"]["code"], "track_room_limit");
    let a = mm.reserve_with(&[], &json!({"track": "duel"})).await?;
    assert_eq!(a.status, 200, "another track has rooms left: {}", a.body);
    for body in [json!({"track": "random-123"}), json!({})] {
        let a = mm.reserve_with(&[], &body).await?;
        assert_eq!(a.status, 403, "{body}: {}", a.body);
        assert_eq!(a.json()?["error"]["code"], "track_not_allowed");
    }
    Ok(())
}

#[tokio::test]
async fn cross_site_requests_never_reserve() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let client = redis(&server.url()).await?;
    beat_all(server.port(), 1, cap(10, 10))?;
    let mm = Matchmaker::start(
        &server.url(),
        &[("CORS_ALLOWED_ORIGINS", "https://game.example")],
    )
    .await?;
    let origin = ("Origin", "https://evil.example");
    for (what, ct, body) in [
        ("text/plain", Some("text/plain"), &b"{}"[..]),
        (
            "a form",
            Some("application/x-www-form-urlencoded"),
            b"track=a",
        ),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x--",
        ),
        ("an empty form", None, b""),
    ] {
        let mut headers = vec![origin];
        if let Some(ct) = ct {
            headers.push(("Content-Type", ct));
        }
        let a = mm.request("POST", "/reserve", &headers, body).await?;
        assert_eq!(a.status, 415, "{what}: {}", a.body);
        assert_eq!(a.json()?["error"]["code"], "unsupported_media_type");
        assert!(a.header("access-control-allow-origin").is_none(), "{what}");
    }
    let rooms: u32 = client.zcard(keys().rooms()).await?;
    assert_eq!(rooms, 0, "nothing was reserved");

    let preflight = |o: &'static str| {
        vec![
            ("Origin", o),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type, authorization",
            ),
        ]
    };
    let a = mm
        .request(
            "OPTIONS",
            "/reserve",
            &preflight("https://evil.example"),
            b"",
        )
        .await?;
    assert!(
        a.header("access-control-allow-origin").is_none(),
        "an origin off the list: {:?}",
        a.headers
    );
    let a = mm
        .request(
            "OPTIONS",
            "/reserve",
            &preflight("https://game.example"),
            b"",
        )
        .await?;
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://game.example"),
        "{:?}",
        a.headers
    );
    assert!(a.header("access-control-allow-credentials").is_none());
    let a = mm
        .reserve_with(&[("Origin", "https://game.example")], &json!({}))
        .await?;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://game.example")
    );
    Ok(())
}

#[tokio::test]
async fn rooms_are_listed_page_by_page() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 2, cap(100, 1))?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;
    for i in 0..5 {
        let a = mm
            .reserve_with(&[], &json!({"track": "paged", "player": format!("p{i}")}))
            .await?;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    for base in ["/rooms?", "/rooms?track=paged&"] {
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("{base}limit=2&cursor={c}"),
                None => format!("{base}limit=2"),
            };
            let (status, body) = mm.get(&path).await?;
            assert_eq!(status, 200, "{path}: {body}");
            let rooms = body["rooms"].as_array().cloned().unwrap_or_default();
            assert!(rooms.len() <= 2, "{path}: {body}");
            for r in rooms {
                assert!(seen.insert(r["room"].to_string()), "{path}: a room twice");
            }
            pages += 1;
            match body["nextCursor"].as_str() {
                Some(c) => {
                    assert_eq!(body["truncated"], true);
                    cursor = Some(c.to_owned());
                }
                None => break,
            }
            assert!(pages < 10, "{path}: the pages never end");
        }
        assert_eq!(seen.len(), 5, "{base}: every room once");
        assert_eq!(pages, 3, "{base}");
    }
    for bad in ["/rooms?limit=0", "/rooms?limit=5001", "/rooms?cursor=x"] {
        let (status, body) = mm.get(bad).await?;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }
    Ok(())
}
