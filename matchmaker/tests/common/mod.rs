//! Shared helpers: the real matchmaker binary, a small HTTP client, and heartbeats written
//! the way a worker writes them.
#![allow(dead_code)]

use anyhow::{Context, Result};
use fred::prelude::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use roomshard_protocol::Keys;
use roomshard_protocol::records::{Capacity, ShardHeartbeat};
use roomshard_protocol::token::TokenKey;
use roomshard_testkit::process::{ChildGuard, free_port, wait_until_async};
use std::process::Command;
use std::time::Duration;

pub const SET: &str = "test";
pub const SECRET: &str = "integration-secret-0123456789";

pub fn keys() -> Keys {
    Keys::new(SET).expect("valid set")
}

pub fn token_key() -> TokenKey {
    TokenKey::new(SECRET.as_bytes().to_vec()).expect("long enough")
}

pub struct Matchmaker {
    pub port: u16,
    child: ChildGuard,
    _dir: std::path::PathBuf,
}

impl Matchmaker {
    pub async fn start(redis_url: &str, env: &[(&str, &str)]) -> Result<Self> {
        Self::start_binary(
            std::path::Path::new(env!("CARGO_BIN_EXE_roomshard-matchmaker")),
            redis_url,
            env,
        )
        .await
    }

    /// Starts another build of the matchmaker (for side-by-side measurements).
    pub async fn start_binary(
        binary: &std::path::Path,
        redis_url: &str,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let port = free_port()?;
        let dir = roomshard_testkit::scratch_dir("matchmaker")?;
        let mut cmd = Command::new(binary);
        cmd.env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("REDIS_URL", redis_url)
            .env("ROOMSHARD_SET", SET)
            .env("ROOMSHARD_TOKEN_SECRET", SECRET)
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = ChildGuard::spawn("roomshard-matchmaker", cmd, &dir.join("matchmaker.log"))?;
        let mm = Self {
            port,
            child,
            _dir: dir,
        };
        let http = Http::new();
        let url = mm.url("/healthz");
        wait_until_async("matchmaker /healthz", Duration::from_secs(20), || {
            let http = &http;
            let url = url.clone();
            async move { http.get(&url).await.ok().filter(|(s, _)| *s == 200) }
        })
        .await?;
        Ok(mm)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn child(&mut self) -> &mut ChildGuard {
        &mut self.child
    }
}

/// A raw answer: status, content type and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Clone)]
pub struct Http {
    client: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: HttpClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(512)
                .build(connector),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        let resp = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .context("request timed out")??;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.into_body().collect().await?.to_bytes().to_vec();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    pub async fn get(&self, url: &str) -> Result<(u16, serde_json::Value)> {
        let a = self.send("GET", url, None, Vec::new()).await?;
        Ok((a.status, a.json()))
    }

    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value)> {
        let a = self
            .send(
                "POST",
                url,
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await?;
        Ok((a.status, a.json()))
    }
}

pub async fn redis(url: &str) -> Result<Client> {
    let client = Client::new(Config::from_url(url)?, None, None, None);
    client.init().await?;
    Ok(client)
}

pub fn heartbeat(index: u32, total: u32, capacity: Capacity) -> ShardHeartbeat {
    ShardHeartbeat {
        schema: 1,
        index,
        total,
        pod: format!("game-{index}"),
        url: String::new(),
        version: "test".into(),
        started_at: roomshard_protocol::now_ms(),
        seq: 1,
        sent_at: roomshard_protocol::now_ms(),
        interval_ms: 2_000,
        rooms: 0,
        players: 0,
        capacity,
        tracks: vec![],
        draining: false,
    }
}

/// Writes a heartbeat as a worker does: the record with a TTL, and the index entry.
pub async fn beat(client: &Client, hb: &ShardHeartbeat, ttl_ms: i64) -> Result<()> {
    let k = keys();
    let _: () = client
        .set(
            k.shard(hb.index),
            hb.encode(),
            Some(Expiration::PX(ttl_ms)),
            None,
            false,
        )
        .await?;
    let _: () = client
        .zadd(
            k.shards(),
            None,
            None,
            false,
            false,
            (roomshard_protocol::now_ms() as f64, hb.index.to_string()),
        )
        .await?;
    Ok(())
}

/// Heartbeats for shards `0..total`, each with `capacity`, valid for a minute.
pub async fn beat_all(client: &Client, total: u32, capacity: Capacity) -> Result<()> {
    for i in 0..total {
        let mut hb = heartbeat(i, total, capacity);
        hb.interval_ms = 20_000;
        beat(client, &hb, 60_000).await?;
    }
    Ok(())
}
