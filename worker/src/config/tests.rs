use super::*;

#[test]
fn room_shard_wins_and_is_strict() {
    assert_eq!(
        resolve_shard(Some("1/3"), Some("0"), Some("2"), true).map(|s| s.to_string()),
        Ok("1/3".into())
    );
    for bad in ["3/3", "x/2", "0/0"] {
        let err = resolve_shard(Some(bad), None, None, true).expect_err(bad);
        assert!(err.starts_with("ROOM_SHARD is invalid"), "{err}");
        assert!(err.contains("<index>/<total>"), "{err}");
    }
}

#[test]
fn index_and_total_pair() {
    assert_eq!(
        resolve_shard(None, Some("2"), Some("3"), true).map(|s| s.to_string()),
        Ok("2/3".into())
    );
    let err = resolve_shard(None, Some("3"), Some("3"), true).expect_err("out of range");
    assert!(
        err.contains("ROOM_SHARD_INDEX") && err.contains("ROOM_SHARD_TOTAL"),
        "{err}"
    );
    let err = resolve_shard(None, Some("1"), None, false).expect_err("half");
    assert!(err.contains("ROOM_SHARD_TOTAL"), "{err}");
    let err = resolve_shard(None, None, Some("1"), false).expect_err("half");
    assert!(err.contains("ROOM_SHARD_INDEX"), "{err}");
}

#[test]
fn solo_default_only_without_redis() {
    assert_eq!(resolve_shard(None, None, None, false), Ok(ShardId::SOLO));
    let err = resolve_shard(None, None, None, true).expect_err("required");
    assert!(err.contains("ROOM_SHARD is required"), "{err}");
}

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["roomshard-worker"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("parses")
}

#[test]
fn token_requirement_defaults() {
    let c = cli(&[]).into_config().expect("solo");
    assert!(!c.require_token);
    let c = cli(&[
        "--redis-url",
        "redis://127.0.0.1:1",
        "--room-shard",
        "0/1",
        "--token-secret",
        "0123456789abcdef0123",
    ])
    .into_config()
    .expect("cluster");
    assert!(c.require_token);
    let err = cli(&["--require-token", "true"])
        .into_config()
        .expect_err("no secret");
    assert!(err.contains("ROOMSHARD_TOKEN_SECRET"), "{err}");
}

#[test]
fn public_url_placeholders_are_filled_in() {
    let c = cli(&[
        "--redis-url",
        "redis://127.0.0.1:1",
        "--room-shard",
        "2/3",
        "--pod-name",
        "game-2",
        "--port",
        "3002",
        "--public-url",
        "wss://play.example.com/shard/{shard}?pod={pod}&port={port}",
    ])
    .into_config()
    .expect("valid");
    assert_eq!(
        c.public_url,
        "wss://play.example.com/shard/2?pod=game-2&port=3002"
    );
    let c = cli(&["--public-url", "http://127.0.0.1:3000"])
        .into_config()
        .expect("valid");
    assert_eq!(c.public_url, "http://127.0.0.1:3000");
}

#[test]
fn world_must_be_sane() {
    assert!(cli(&["--aoi-radius", "0"]).into_config().is_err());
    assert!(cli(&["--world-width", "NaN"]).into_config().is_err());
    let wide = cli(&["--world-width", "1e39", "--aoi-radius", "1e36"]).into_config();
    assert!(wide.is_err_and(|e| e.contains("WORLD_WIDTH must be at most")));
    assert!(cli(&["--tick-hz", "0"]).into_config().is_err());
    assert!(cli(&["--aoi-cells", "0"]).into_config().is_err());
    assert!(cli(&["--aoi-cells", "5"]).into_config().is_err());
    let fine = cli(&[
        "--world-width",
        "10000",
        "--aoi-radius",
        "1",
        "--aoi-cells",
        "3",
    ]);
    assert!(fine.into_config().is_err_and(|e| e.contains("20000 cells")));
    assert_eq!(cli(&[]).into_config().map(|c| c.world.reach).ok(), Some(2));
}

#[test]
fn worker_threads_are_bounded() {
    assert!(cli(&["--worker-threads", "5000"]).into_config().is_err());
    assert!(Cli::try_parse_from(["roomshard-worker", "--worker-threads", "-1"]).is_err());
    assert_eq!(
        cli(&[]).into_config().map(|c| c.worker_threads).ok(),
        Some(None)
    );
    assert_eq!(
        cli(&["--worker-threads", "1"])
            .into_config()
            .map(|c| c.worker_threads)
            .ok(),
        Some(Some(1))
    );
}
