//! A reservation bound to a player, end to end: a matchmaker that authenticates callers by
//! bearer JWT binds each seat to the token's `sub`, and the worker, holding the same keys,
//! seats only a join that presents a JWT for that `sub`. The official client tries the
//! seat with no identity, another player's, a forged one and garbage, over WebSocket and
//! long polling; then the owner takes it.

mod common;

use common::{Stack, StackOptions};
use jsonwebtoken::{EncodingKey, Header, encode};
use roomshard_testkit::node::check;
use serde_json::json;
use std::time::Duration;

const JWT_SECRET: &str = "e2e-jwt-secret-0123456789abcdef-0123";
const ISSUER: &str = "https://id.e2e.test";

fn jwt(sub: &str, secret: &str) -> String {
    let now = roomshard_protocol::now_ms() / 1000;
    encode(
        &Header::default(),
        &json!({"sub": sub, "iss": ISSUER, "exp": now + 120, "iat": now}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("a JWT")
}

#[test]
fn a_bound_seat_is_taken_by_its_player_alone() {
    let jwt_env = || {
        vec![
            ("AUTH_JWT_HS256_SECRET".into(), JWT_SECRET.into()),
            ("AUTH_JWT_ISSUER".into(), ISSUER.into()),
        ]
    };
    let mut matchmaker_env = jwt_env();
    matchmaker_env.push(("AUTH_MODE".into(), "jwt".into()));
    let stack = Stack::start(
        "e2e-bound-seat",
        StackOptions {
            shards: 1,
            worker_env: jwt_env(),
            matchmaker_env,
            ..StackOptions::default()
        },
    )
    .expect("the set starts");
    let args = vec![
        stack.matchmaker_url(),
        jwt("ann", JWT_SECRET),
        jwt("bob", JWT_SECRET),
        jwt("ann", "another-secret-of-the-same-length-0123"),
    ];
    let lines = roomshard_testkit::node::run("e2e/bound-seat.mjs", &args, Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", stack.logs()));
    for transport in ["websocket", "polling"] {
        for (attempt, code) in [
            ("no_identity", "identity_required"),
            ("other_player", "identity_mismatch"),
            ("forged_identity", "identity_invalid"),
            ("garbage_identity", "identity_invalid"),
        ] {
            assert_eq!(
                check(&lines, &format!("{transport}_{attempt}")),
                code,
                "{transport} {attempt}"
            );
        }
    }
    let owner = check(&lines, "owner_joins");
    assert_eq!(
        owner["code"], "joined",
        "the refusals left the seat: {owner}"
    );
    let id = owner["publicId"].as_str().expect("a public id");
    assert!(
        !id.contains("ann"),
        "the public id is not the JWT subject: {id}"
    );
    // The worker logged nothing of the JWTs it was shown.
    let logs = stack.logs();
    for secret in &args[1..] {
        assert!(!logs.contains(secret.as_str()), "a JWT reached the logs");
    }
}
