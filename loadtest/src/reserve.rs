//! `POST /reserve` against the matchmaker.

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// The fields of a reservation a player needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Seat {
    pub room: String,
    pub shard: u32,
    pub url: String,
    pub token: String,
}

/// An HTTP client for the matchmaker, shared by all players.
#[derive(Clone)]
pub struct Matchmaker {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Matchmaker {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn reserve(&self, track: &str, player: &str) -> Result<Seat> {
        let body = serde_json::json!({ "track": track, "player": player }).to_string();
        let req = hyper::Request::post(format!("{}/reserve", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let resp = self.http.request(req).await.context("POST /reserve")?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!(
                "/reserve answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        serde_json::from_slice(&bytes).context("/reserve body")
    }
}
