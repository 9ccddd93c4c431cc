//! Who may reserve, against the real binary and a real Redis: bearer JWTs (HS256 with a
//! secret; ES256 and RS256 from a JSON Web Key Set file, with keys generated for the test
//! run and never stored), API keys, and the explicit `none` mode.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{Matchmaker, beat_all, token_key};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use roomshard_protocol::now_ms;
use roomshard_protocol::records::Capacity;
use roomshard_testkit::http::Answer;
use roomshard_testkit::process::ChildGuard;
use roomshard_testkit::redis::RedisServer;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const HS_SECRET: &str = "hs256-secret-for-tests-0123456789abcdef";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "roomshard";

fn cap() -> Capacity {
    Capacity {
        rooms_per_shard: 50,
        players_per_room: 8,
    }
}

fn now_s() -> u64 {
    now_ms() / 1000
}

/// Claims of a token valid for a minute, for `sub`.
fn claims(sub: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now_s() + 60, "iat": now_s()})
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signs")
}

/// An ES256 key made for this run: its signing key and its JWK.
struct EcKey {
    signing: EncodingKey,
    jwk: Value,
}

fn ec_key(kid: &str) -> EcKey {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("its pair");
    // The public key is 0x04 || x || y.
    let point = pair.public_key().as_ref();
    EcKey {
        signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                    "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}),
    }
}

/// An RS256 key made for this run with the openssl CLI (in a scratch directory removed
/// with the test's files), or `None` where openssl is missing.
fn rsa_key(dir: &Path, kid: &str) -> Option<EcKey> {
    let pem = dir.join("rsa.pem");
    let der = dir.join("rsa.der");
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let pem_s = pem.to_str()?;
    run(&["genrsa", "-traditional", "-out", pem_s, "2048"])
        .or_else(|| run(&["genrsa", "-out", pem_s, "2048"]))?;
    run(&[
        "rsa",
        "-in",
        pem_s,
        "-traditional",
        "-outform",
        "DER",
        "-out",
        der.to_str()?,
    ])?;
    let modulus = run(&["rsa", "-in", pem_s, "-noout", "-modulus"])?;
    let hex = String::from_utf8(modulus.stdout).ok()?;
    let hex = hex.trim().strip_prefix("Modulus=")?;
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let der_bytes = std::fs::read(&der).ok()?;
    let _ = std::fs::remove_file(&pem);
    let _ = std::fs::remove_file(&der);
    Some(EcKey {
        signing: EncodingKey::from_rsa_der(&der_bytes),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": B64.encode(&n), "e": "AQAB"}),
    })
}

fn signed(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, key).expect("signs")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The player claim of a granted seat's join token.
fn player_of(answer: &Answer) -> String {
    let body = answer.json().expect("json");
    let token = body["token"].as_str().unwrap_or_default();
    token_key()
        .verify(token, now_ms())
        .map(|c| c.player)
        .unwrap_or_else(|e| panic!("a join token: {e:?}"))
}

/// A 401 in the contract's shape, saying nothing of the token it refused.
fn assert_unauthorized(what: &str, a: &Answer, token: &str) {
    assert_eq!(a.status, 401, "{what}: {}", a.body);
    assert!(a.content_type().starts_with("application/json"), "{what}");
    let body = a.json().expect("json");
    assert_eq!(body["error"]["code"], "unauthorized", "{what}");
    assert!(body["error"]["message"].as_str().is_some(), "{what}");
    assert!(a.header("www-authenticate").is_some(), "{what}");
    if !token.is_empty() {
        assert!(
            !a.body.contains(token),
            "{what}: the answer echoes the token"
        );
    }
}

#[tokio::test]
async fn jwt_mode_refuses_every_bad_token_and_seats_good_ones() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 2, cap())?;
    let dir = roomshard_testkit::scratch_dir("auth-jwks")?;
    let es = ec_key("es-1");
    let impostor = ec_key("es-1");
    let rsa = rsa_key(&dir, "rs-1");
    let mut keys = vec![es.jwk.clone()];
    if let Some(r) = &rsa {
        keys.push(r.jwk.clone());
    }
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, json!({ "keys": keys }).to_string())?;
    let jwks_s = jwks.to_string_lossy().into_owned();
    let mm = Matchmaker::start(
        &server.url(),
        &[
            ("AUTH_MODE", "jwt"),
            ("AUTH_JWT_HS256_SECRET", HS_SECRET),
            ("AUTH_JWKS_FILE", &jwks_s),
            ("AUTH_JWT_ISSUER", ISSUER),
            ("AUTH_JWT_AUDIENCE", AUDIENCE),
            ("AUTH_JWT_LEEWAY_SECONDS", "5"),
        ],
    )
    .await?;

    let mut expired = claims("ann");
    expired["exp"] = json!(now_s() - 60);
    let mut not_yet = claims("ann");
    not_yet["nbf"] = json!(now_s() + 600);
    let mut wrong_iss = claims("ann");
    wrong_iss["iss"] = json!("https://elsewhere.test");
    let mut wrong_aud = claims("ann");
    wrong_aud["aud"] = json!("another-service");
    let no_sub = json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now_s() + 60});
    let no_exp = json!({"sub": "ann", "iss": ISSUER, "aud": AUDIENCE});
    let good = hs256(&claims("ann"), HS_SECRET);
    // The same token with its payload swapped for another player's, signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = B64.encode(claims("mallory").to_string());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let alg_none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(claims("ann").to_string())
    );
    let unknown_kid = signed(Algorithm::ES256, "es-2", &es.signing, &claims("ann"));
    let cases: Vec<(&str, String)> = vec![
        ("expired", hs256(&expired, HS_SECRET)),
        ("not valid yet", hs256(&not_yet, HS_SECRET)),
        ("wrong issuer", hs256(&wrong_iss, HS_SECRET)),
        ("wrong audience", hs256(&wrong_aud, HS_SECRET)),
        ("no sub", hs256(&no_sub, HS_SECRET)),
        ("no exp", hs256(&no_exp, HS_SECRET)),
        (
            "wrong HS256 secret",
            hs256(&claims("ann"), "another-secret-0123456789abcdefghij"),
        ),
        (
            "ES256 signed with another key under the same kid",
            signed(Algorithm::ES256, "es-1", &impostor.signing, &claims("ann")),
        ),
        ("unknown kid", unknown_kid),
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("not a JWT", "not-a-token".to_owned()),
        (
            "an algorithm without a configured key",
            encode(
                &Header::new(Algorithm::HS512),
                &claims("ann"),
                &EncodingKey::from_secret(HS_SECRET.as_bytes()),
            )?,
        ),
    ];
    for (what, token) in &cases {
        let auth = bearer(token);
        let a = mm
            .reserve_with(&[("Authorization", &auth)], &json!({}))
            .await?;
        assert_unauthorized(what, &a, token);
    }
    for (what, headers) in [
        ("no credentials", vec![]),
        ("basic scheme", vec![("Authorization", "Basic YW5uOnB3")]),
        (
            "an API key in jwt mode",
            vec![("X-Api-Key", "some-key-0123456789")],
        ),
    ] {
        let a = mm.reserve_with(&headers, &json!({})).await?;
        assert_unauthorized(what, &a, "");
    }

    // Good tokens of every configured algorithm seat their subject.
    let mut good_tokens = vec![
        ("HS256", good.clone(), "ann"),
        (
            "ES256",
            signed(Algorithm::ES256, "es-1", &es.signing, &claims("bea")),
            "bea",
        ),
    ];
    if let Some(r) = &rsa {
        good_tokens.push((
            "RS256",
            signed(Algorithm::RS256, "rs-1", &r.signing, &claims("cy")),
            "cy",
        ));
    }
    for (what, token, sub) in &good_tokens {
        let auth = bearer(token);
        let a = mm
            .reserve_with(&[("Authorization", &auth)], &json!({"track": "ctf"}))
            .await?;
        assert_eq!(a.status, 200, "{what}: {}", a.body);
        assert_eq!(player_of(&a), *sub, "{what}: the join token names the sub");
    }
    assert!(rsa.is_some() || roomshard_testkit::process::find_program("openssl").is_none());

    // A token's caller reserves for its own subject only.
    let auth = bearer(&good);
    let a = mm
        .reserve_with(&[("Authorization", &auth)], &json!({"player": "bob"}))
        .await?;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()?["error"]["code"], "player_mismatch");
    let a = mm
        .reserve_with(&[("Authorization", &auth)], &json!({"player": "ann"}))
        .await?;
    assert_eq!(a.status, 200, "{}", a.body);

    // Idempotency keys are the caller's own: bob's "k1" is not ann's "k1".
    let bob = bearer(&hs256(&claims("bob"), HS_SECRET));
    let ann1 = mm
        .reserve_with(
            &[("Authorization", &auth)],
            &json!({"idempotencyKey": "k1"}),
        )
        .await?;
    let ann2 = mm
        .reserve_with(
            &[("Authorization", &auth)],
            &json!({"idempotencyKey": "k1"}),
        )
        .await?;
    let bob1 = mm
        .reserve_with(&[("Authorization", &bob)], &json!({"idempotencyKey": "k1"}))
        .await?;
    assert_eq!((ann1.status, ann2.status, bob1.status), (200, 200, 200));
    assert_eq!(
        ann1.json()?,
        ann2.json()?,
        "a retry gets the same reservation"
    );
    assert_ne!(ann1.json()?["token"], bob1.json()?["token"]);
    assert_eq!(player_of(&bob1), "bob");

    // GET /rooms is private too.
    let a = mm.request("GET", "/rooms", &[], b"").await?;
    assert_unauthorized("/rooms without credentials", &a, "");
    let a = mm
        .request("GET", "/rooms", &[("Authorization", &auth)], b"")
        .await?;
    assert_eq!(a.status, 200, "{}", a.body);
    Ok(())
}

#[tokio::test]
async fn api_keys_let_a_backend_reserve_for_its_players() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 1, cap())?;
    let dir = roomshard_testkit::scratch_dir("auth-keys")?;
    let file = dir.join("keys");
    std::fs::write(&file, "# backends\nbackend-three-0123456789\n")?;
    let file_s = file.to_string_lossy().into_owned();
    let mm = Matchmaker::start(
        &server.url(),
        &[
            ("AUTH_MODE", "api-key"),
            (
                "AUTH_API_KEYS",
                "backend-one-0123456789, backend-two-0123456789",
            ),
            ("AUTH_API_KEYS_FILE", &file_s),
        ],
    )
    .await?;
    for key in [
        "backend-one-0123456789",
        "backend-two-0123456789",
        "backend-three-0123456789",
    ] {
        let a = mm
            .reserve_with(&[("X-Api-Key", key)], &json!({"player": "p-7"}))
            .await?;
        assert_eq!(a.status, 200, "{key}: {}", a.body);
        assert_eq!(player_of(&a), "p-7");
    }
    for (what, headers) in [
        ("no key", vec![]),
        ("a wrong key", vec![("X-Api-Key", "backend-one-0123456780")]),
        ("a prefix of a key", vec![("X-Api-Key", "backend-one")]),
        ("an empty key", vec![("X-Api-Key", "")]),
        (
            "a bearer token in api-key mode",
            vec![("Authorization", "Bearer x.y.z")],
        ),
    ] {
        let a = mm.reserve_with(&headers, &json!({"player": "p-7"})).await?;
        assert_unauthorized(what, &a, "");
    }
    // Two backends' idempotency keys never meet.
    let one = mm
        .reserve_with(
            &[("X-Api-Key", "backend-one-0123456789")],
            &json!({"player": "a", "idempotencyKey": "same"}),
        )
        .await?;
    let two = mm
        .reserve_with(
            &[("X-Api-Key", "backend-two-0123456789")],
            &json!({"player": "b", "idempotencyKey": "same"}),
        )
        .await?;
    assert_eq!((one.status, two.status), (200, 200));
    assert_eq!(player_of(&two), "b", "not the other backend's reservation");
    Ok(())
}

/// Runs the binary to its exit with these settings; (exit status, output).
fn run_to_exit(env: &[(&str, &str)], args: &[&str]) -> anyhow::Result<(i32, String)> {
    let binary = roomshard_testkit::bins::binary("roomshard-matchmaker")?;
    let dir = roomshard_testkit::scratch_dir("auth-exit")?;
    let log = dir.join("out.log");
    let mut cmd = std::process::Command::new(binary);
    roomshard_testkit::bins::clean_env(&mut cmd);
    cmd.args(args)
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("ROOMSHARD_TOKEN_SECRET", common::SECRET)
        .env("PORT", roomshard_testkit::process::free_port()?.to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = ChildGuard::spawn("roomshard-matchmaker", cmd, &log)?;
    let status = child.wait_exit(Duration::from_secs(10))?;
    Ok((status.code().unwrap_or(-1), std::fs::read_to_string(&log)?))
}

#[test]
fn a_matchmaker_reachable_from_the_network_needs_an_explicit_mode() -> anyhow::Result<()> {
    let (code, out) = run_to_exit(&[("BIND", "0.0.0.0")], &[])?;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("AUTH_MODE must be set"), "{out}");
    let (code, out) = run_to_exit(&[("BIND", "0.0.0.0"), ("AUTH_MODE", "jwt")], &[])?;
    assert_ne!(code, 0, "jwt without a key: {out}");
    assert!(out.contains("AUTH_JWT_HS256_SECRET"), "{out}");
    let (code, out) = run_to_exit(
        &[
            ("BIND", "0.0.0.0"),
            ("AUTH_MODE", "jwt"),
            ("AUTH_JWT_HS256_SECRET", "short"),
        ],
        &[],
    )?;
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains("short\""), "{out}");
    let (code, out) = run_to_exit(
        &[
            ("BIND", "0.0.0.0"),
            ("AUTH_MODE", "api-key"),
            ("AUTH_API_KEYS", "tiny"),
        ],
        &[],
    )?;
    assert_ne!(code, 0, "{out}");
    Ok(())
}

#[test]
fn help_prints_no_secret() -> anyhow::Result<()> {
    let (code, out) = run_to_exit(
        &[
            (
                "AUTH_JWT_HS256_SECRET",
                "a-jwt-secret-nobody-may-read-0123456789",
            ),
            ("AUTH_API_KEYS", "an-api-key-nobody-may-read-0123"),
        ],
        &["--help"],
    )?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("AUTH_MODE"), "{out}");
    assert!(!out.contains("nobody-may-read"), "{out}");
    Ok(())
}

#[tokio::test]
async fn none_mode_is_explicit_and_still_checks_credentials_it_is_given() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(server.port(), 1, cap())?;
    let mm = Matchmaker::start(&server.url(), &[("AUTH_MODE", "none")]).await?;
    let a = mm.reserve_with(&[], &json!({"player": "solo"})).await?;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(player_of(&a), "solo");
    let a = mm
        .reserve_with(&[("Authorization", "Bearer x.y.z")], &json!({}))
        .await?;
    assert_unauthorized("a token where none is configured", &a, "");
    let (status, _) = mm.get("/rooms").await?;
    assert_eq!(status, 200);
    Ok(())
}
