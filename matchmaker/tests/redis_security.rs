//! Redis as a closed trust boundary, against a real redis-server: the worker and the
//! matchmaker over `rediss://` with a CA made for the test, mutual TLS, a server whose
//! certificate the configured CA did not sign, and ACL users with right and wrong
//! passwords.

mod common;

use common::{Matchmaker, SECRET, SET};
use roomshard_testkit::process::{Proc, free_port, wait_until, wait_until_async};
use roomshard_testkit::redis::{AclUser, AuthClients, RedisOptions, RedisServer, ServerTls};
use roomshard_testkit::tls::{CertPair, TestCa};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

fn tls_server(ca: &TestCa, auth_clients: AuthClients) -> anyhow::Result<RedisServer> {
    RedisServer::start_with(RedisOptions {
        tls: Some(ServerTls {
            server: ca.issue("redis")?,
            ca: ca.cert.clone(),
            auth_clients,
        }),
        users: Vec::new(),
    })
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A worker for shard 0/1 of the test set on `redis_url`, with `env`; not waited on.
fn spawn_worker(label: &str, redis_url: &str, env: &[(&str, String)]) -> anyhow::Result<Proc> {
    let port = free_port()?;
    let dir = roomshard_testkit::scratch_dir(label)?;
    let mut cmd = roomshard_testkit::bins::command("roomshard-worker")?;
    cmd.env("BIND_ADDRESS", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("REDIS_URL", redis_url)
        .env("ROOM_SHARD", "0/1")
        .env("ROOMSHARD_SET", SET)
        .env("ROOMSHARD_TOKEN_SECRET", SECRET)
        .env("HEARTBEAT_INTERVAL_MS", "200")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc::spawn(label, cmd, port, &dir, "worker")
}

/// Waits until `worker` exits; it must fail, and soon.
fn wait_failed_exit(worker: &mut Proc) -> anyhow::Result<String> {
    let status = worker.child.wait_exit(DEADLINE)?;
    assert!(!status.success(), "the worker must fail: {}", worker.logs());
    Ok(std::fs::read_to_string(&worker.log)?)
}

/// `/readyz` of a matchmaker that stays not ready: several answers, none 200.
async fn assert_never_ready(mm: &Matchmaker) -> anyhow::Result<()> {
    for _ in 0..5 {
        let (status, body) = mm.get("/readyz").await?;
        assert_ne!(status, 200, "{body}");
    }
    Ok(())
}

#[tokio::test]
async fn worker_and_matchmaker_reserve_over_tls_with_the_configured_ca() -> anyhow::Result<()> {
    let ca = TestCa::generate("good")?;
    let server = tls_server(&ca, AuthClients::No)?;
    assert!(server.url().starts_with("rediss://"), "{}", server.url());
    let ca_file = path(&ca.cert);

    let mut worker = spawn_worker(
        "worker-tls",
        &server.url(),
        &[("REDIS_CA_FILE", ca_file.clone())],
    )?;
    worker.wait_ok("/readyz", DEADLINE)?;
    wait_until("the worker's heartbeat over TLS", DEADLINE, || {
        server
            .query(&["ZCARD", &common::keys().shards()])
            .ok()
            .and_then(|r| r.as_int())
            .filter(|n| *n == 1)
    })?;

    let mm = Matchmaker::start(&server.url(), &[("REDIS_CA_FILE", ca_file.as_str())]).await?;
    let body = wait_until_async("a reservation over TLS", DEADLINE, || async {
        mm.post_json("/reserve", &json!({}))
            .await
            .ok()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
    })
    .await?;
    assert!(
        body["token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let (status, _) = mm.get("/readyz").await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() -> anyhow::Result<()> {
    let ca = TestCa::generate("mtls")?;
    let server = tls_server(&ca, AuthClients::Yes)?;
    let CertPair { cert, key } = ca.issue("client")?;
    let (ca_file, cert, key) = (path(&ca.cert), path(&cert), path(&key));

    let with_cert = Matchmaker::start(
        &server.url(),
        &[
            ("REDIS_CA_FILE", ca_file.as_str()),
            ("REDIS_CLIENT_CERT_FILE", cert.as_str()),
            ("REDIS_CLIENT_KEY_FILE", key.as_str()),
        ],
    )
    .await?;
    wait_until_async(
        "a matchmaker with a client certificate to be ready",
        DEADLINE,
        || async {
            with_cert
                .get("/readyz")
                .await
                .ok()
                .filter(|(s, _)| *s == 200)
        },
    )
    .await?;

    let without = Matchmaker::start(&server.url(), &[("REDIS_CA_FILE", ca_file.as_str())]).await?;
    assert_never_ready(&without).await
}

#[tokio::test]
async fn a_server_not_signed_by_the_configured_ca_is_refused() -> anyhow::Result<()> {
    let real = TestCa::generate("real")?;
    let other = TestCa::generate("other")?;
    let server = tls_server(&real, AuthClients::No)?;
    let wrong_ca = path(&other.cert);

    let mut worker = spawn_worker(
        "worker-wrong-ca",
        &server.url(),
        &[("REDIS_CA_FILE", wrong_ca.clone())],
    )?;
    let log = wait_failed_exit(&mut worker)?;
    assert!(
        log.to_lowercase().contains("certificate"),
        "the worker says why: {log}"
    );

    // Without REDIS_CA_FILE the system's roots apply, which do not know the test CA either.
    let mut system_roots = spawn_worker("worker-system-roots", &server.url(), &[])?;
    wait_failed_exit(&mut system_roots)?;

    let mut mm = Matchmaker::start(&server.url(), &[("REDIS_CA_FILE", wrong_ca.as_str())]).await?;
    assert_never_ready(&mm).await?;
    let (_, body) = mm.get("/readyz").await?;
    assert!(
        body.to_string().to_lowercase().contains("redis"),
        "the readiness answer names Redis: {body}"
    );
    assert!(
        mm.child().try_status().is_none(),
        "the matchmaker keeps running, not ready"
    );
    Ok(())
}

#[tokio::test]
async fn acl_users_connect_with_their_password_and_a_wrong_one_is_refused_unprinted()
-> anyhow::Result<()> {
    let server = RedisServer::start_with(RedisOptions {
        tls: None,
        users: vec![AclUser {
            name: "roomshard".into(),
            password: "right-password-0123".into(),
            rules: "~roomshard:* &roomshard:* +@all".into(),
        }],
    })?;
    // The default user needs a password now: anonymous clients are refused.
    let anonymous = roomshard_testkit::resp::query(server.port(), &["PING"]);
    assert!(anonymous.is_err(), "{anonymous:?}");

    let good = server.url_as("roomshard", "right-password-0123");
    let mut worker = spawn_worker("worker-acl", &good, &[])?;
    worker.wait_ok("/readyz", DEADLINE)?;
    let mm = Matchmaker::start(&good, &[]).await?;
    wait_until_async("a reservation as an ACL user", DEADLINE, || async {
        mm.post_json("/reserve", &json!({}))
            .await
            .ok()
            .filter(|(s, _)| *s == 200)
    })
    .await?;

    let wrong_password = "wrong-password-9876";
    let bad = server.url_as("roomshard", wrong_password);
    let mut refused = spawn_worker("worker-wrong-password", &bad, &[])?;
    let log = wait_failed_exit(&mut refused)?;
    assert!(
        log.contains("WRONGPASS") || log.to_lowercase().contains("auth"),
        "the worker says why: {log}"
    );
    assert!(
        !log.contains(wrong_password),
        "the password is not printed: {log}"
    );

    let mm_bad = Matchmaker::start(&bad, &[]).await?;
    assert_never_ready(&mm_bad).await?;
    let (_, body) = mm_bad.get("/readyz").await?;
    assert!(!body.to_string().contains(wrong_password), "{body}");
    Ok(())
}

#[test]
fn help_with_secrets_in_the_environment_prints_none_of_them() -> anyhow::Result<()> {
    let secrets = [
        ("REDIS_URL", "rediss://user:help-redis-secret@redis:6380"),
        ("ROOMSHARD_TOKEN_SECRET", "help-token-secret-0123456789"),
    ];
    for name in [
        "roomshard-worker",
        "roomshard-matchmaker",
        "roomshard-operator",
    ] {
        let mut cmd: Command = roomshard_testkit::bins::command(name)?;
        cmd.arg("--help");
        for (k, v) in secrets {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        assert!(out.status.success(), "{name} --help");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("REDIS_URL"),
            "{name} documents REDIS_URL: {text}"
        );
        for (_, secret) in secrets {
            assert!(
                !text.contains(secret),
                "{name} --help prints a secret: {text}"
            );
        }
        assert!(!text.contains("help-redis-secret"), "{text}");
    }
    Ok(())
}
