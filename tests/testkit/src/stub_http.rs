//! A stand-in for a game's backend: an HTTP server on a free loopback port that answers
//! every POST with what the test's function says (a status, a body, and how long to wait
//! first), and keeps every request's path and JSON body for the test to read. Stopped
//! when dropped, even when the test fails.

use anyhow::Result;
use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stub answers one request with.
#[derive(Debug, Clone)]
pub struct StubReply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl StubReply {
    /// 200 with `body` as JSON text.
    pub fn json(body: Value) -> Self {
        Self {
            status: 200,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// `status` with a text body.
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Answer = dyn Fn(&str, &Value) -> StubReply + Send + Sync;
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

pub struct StubServer {
    pub port: u16,
    calls: Calls,
    runtime: Option<tokio::runtime::Runtime>,
}

impl StubServer {
    /// Serves `answer(path, body)` for every request (a body that is not JSON reads as null).
    pub fn start(
        answer: impl Fn(&str, &Value) -> StubReply + Send + Sync + 'static,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let port = listener.local_addr()?.port();
        let calls: Calls = Arc::default();
        let answer: Arc<Answer> = Arc::new(answer);
        let kept = calls.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let (answer, calls) = (answer.clone(), kept.clone());
            async move {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let reply = answer(uri.path(), &json);
                calls
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((uri.path().to_owned(), json));
                tokio::time::sleep(reply.delay).await;
                let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
                (status, [("content-type", "application/json")], reply.body)
            }
        });
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            port,
            calls,
            runtime: Some(runtime),
        })
    }

    /// The URL of `path` on the stub.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The bodies of the requests made to `path` so far.
    pub fn calls(&self, path: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
