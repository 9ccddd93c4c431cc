//! Shared by the matchmaker's integration tests: the real binary, its HTTP answers as
//! (status, JSON), and heartbeats written the way a worker writes them. The client, the
//! process and the fixtures are the testkit's.
#![allow(dead_code)]

use anyhow::Result;
use fred::prelude::*;
use roomshard_protocol::Keys;
use roomshard_protocol::records::{Capacity, ShardHeartbeat};
use roomshard_protocol::token::TokenKey;
use roomshard_testkit::fixtures::{self, HeartbeatBuilder};
use roomshard_testkit::http::{self, Answer};
use roomshard_testkit::process::{ChildGuard, Proc, free_port, wait_until_async};
use std::time::Duration;

pub const SET: &str = "test";

/// A Redis to test against: one server or a cluster, reached the same ways (a URL for the
/// code under test, a port for the raw client, which follows a cluster's redirections).
pub trait Backend {
    fn url(&self) -> String;
    fn port(&self) -> u16;
}

impl Backend for roomshard_testkit::redis::RedisServer {
    fn url(&self) -> String {
        self.url()
    }

    fn port(&self) -> u16 {
        self.port()
    }
}

impl Backend for roomshard_testkit::redis_cluster::RedisCluster {
    fn url(&self) -> String {
        self.url()
    }

    fn port(&self) -> u16 {
        self.port()
    }
}
pub const SECRET: &str = "integration-secret-0123456789";

pub fn keys() -> Keys {
    Keys::new(SET).expect("valid set")
}

pub fn token_key() -> TokenKey {
    TokenKey::new(SECRET.as_bytes().to_vec()).expect("long enough")
}

pub struct Matchmaker {
    pub port: u16,
    proc: Proc,
}

impl Matchmaker {
    pub async fn start(redis_url: &str, env: &[(&str, &str)]) -> Result<Self> {
        let binary = roomshard_testkit::bins::binary("roomshard-matchmaker")?;
        Self::start_binary(&binary, redis_url, env).await
    }

    /// Starts another build of the matchmaker (for side-by-side measurements).
    pub async fn start_binary(
        binary: &std::path::Path,
        redis_url: &str,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let port = free_port()?;
        let dir = roomshard_testkit::scratch_dir("matchmaker")?;
        let mut cmd = std::process::Command::new(binary);
        roomshard_testkit::bins::clean_env(&mut cmd);
        cmd.env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("REDIS_URL", redis_url)
            .env("ROOMSHARD_SET", SET)
            .env("ROOMSHARD_TOKEN_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            // The abuse limits are off unless a test turns one on: most tests reserve
            // many seats quickly from one address.
            .env("RESERVE_RATE_PER_IP", "0")
            .env("RESERVE_RATE_PER_PLAYER", "0")
            .env("MAX_RESERVATIONS_PER_PLAYER", "0")
            .env("MAX_ROOMS_PER_TRACK", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let proc = Proc::spawn("roomshard-matchmaker", cmd, port, &dir, "matchmaker")?;
        wait_until_async(
            "matchmaker /healthz",
            Duration::from_secs(20),
            || async move { get(port, "/healthz").await.ok().filter(|(s, _)| *s == 200) },
        )
        .await?;
        Ok(Self { port, proc })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn child(&mut self) -> &mut ChildGuard {
        &mut self.proc.child
    }

    /// `GET path`: (status, JSON body or null).
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        get(self.port, path).await
    }

    /// `POST path` with a JSON body: (status, JSON body or null).
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value)> {
        post_json(self.port, path, body).await
    }

    /// Any request, answered whole.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Answer> {
        http::request_async(self.port, method, path, content_type, body, http::BOUND).await
    }
}

impl Matchmaker {
    /// Any request with any headers, answered whole (`Connection: close`).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer> {
        let port = self.port;
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
        for (k, v) in headers {
            head += &format!("{k}: {v}\r\n");
        }
        if !body.is_empty() || method == "POST" {
            head += &format!("Content-Length: {}\r\n", body.len());
        }
        head += "\r\n";
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        tokio::task::spawn_blocking(move || -> Result<Answer> {
            use std::io::{Read, Write};
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let mut s = std::net::TcpStream::connect_timeout(&addr, http::BOUND)?;
            s.set_read_timeout(Some(http::BOUND))?;
            s.set_write_timeout(Some(http::BOUND))?;
            s.write_all(&raw)?;
            let mut answer = Vec::new();
            match s.read_to_end(&mut answer) {
                Ok(_) => {}
                Err(e) if http::is_closed(&e) && !answer.is_empty() => {}
                Err(e) => return Err(e.into()),
            }
            http::parse_answer(&answer)
        })
        .await?
    }

    /// `POST /reserve` with a JSON body and these headers.
    pub async fn reserve_with(
        &self,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<Answer> {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", "/reserve", &all, body.to_string().as_bytes())
            .await
    }
}

fn status_and_json(a: Answer) -> (u16, serde_json::Value) {
    let json = a.json().unwrap_or(serde_json::Value::Null);
    (a.status, json)
}

/// `GET path` on the matchmaker on `port`: (status, JSON body or null).
pub async fn get(port: u16, path: &str) -> Result<(u16, serde_json::Value)> {
    Ok(status_and_json(
        http::send_async(port, "GET", path, None).await?,
    ))
}

/// `POST path` with a JSON body on the matchmaker on `port`: (status, JSON body or null).
pub async fn post_json(
    port: u16,
    path: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value)> {
    let body = body.to_string();
    Ok(status_and_json(
        http::send_async(port, "POST", path, Some(&body)).await?,
    ))
}

pub async fn redis(url: &str) -> Result<Client> {
    let client = Client::new(Config::from_url(url)?, None, None, None);
    client.init().await?;
    Ok(client)
}

/// A heartbeat of shard `index` of `total` with `capacity`, registered now.
pub fn heartbeat(index: u32, total: u32, capacity: Capacity) -> ShardHeartbeat {
    HeartbeatBuilder::new(index, total)
        .capacity(capacity)
        .build()
}

/// Writes a heartbeat as a worker does: the record with a TTL, and the index entry.
pub fn beat(redis_port: u16, hb: &ShardHeartbeat, ttl_ms: u64) -> Result<()> {
    fixtures::write_heartbeat(redis_port, &keys(), hb, Duration::from_millis(ttl_ms))
}

/// Heartbeats for shards `0..total`, each with `capacity`, valid for a minute.
pub fn beat_all(redis_port: u16, total: u32, capacity: Capacity) -> Result<()> {
    fixtures::write_heartbeats(
        redis_port,
        &keys(),
        total,
        capacity,
        Duration::from_secs(60),
    )
}

/// A shard's capacity.
pub fn cap(rooms_per_shard: u32, players_per_room: u32) -> Capacity {
    Capacity {
        rooms_per_shard,
        players_per_room,
    }
}

/// `POST /reserve` with `body`: (status, JSON).
pub async fn reserve(mm: &Matchmaker, body: serde_json::Value) -> (u16, serde_json::Value) {
    mm.post_json("/reserve", &body).await.expect("answered")
}

/// The nonce of the reservation a `/reserve` answer carries, from its verified token.
pub fn nonce_of(body: &serde_json::Value) -> String {
    token_key()
        .verify(
            body["token"].as_str().unwrap_or_default(),
            roomshard_protocol::now_ms(),
        )
        .expect("token verifies")
        .nonce
}

/// Each test named, on one `redis-server` and on a Redis Cluster: `mod NAME { single, cluster }`
/// calling `NAME(backend)`.
#[allow(unused_macros)]
macro_rules! on_single_server_and_cluster {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use roomshard_testkit::redis::RedisServer;
                use roomshard_testkit::redis_cluster::RedisCluster;

                #[tokio::test]
                async fn single() -> anyhow::Result<()> {
                    super::$name(RedisServer::start()?).await
                }

                #[tokio::test]
                async fn cluster() -> anyhow::Result<()> {
                    super::$name(RedisCluster::start()?).await
                }
            }
        )*
    };
}
