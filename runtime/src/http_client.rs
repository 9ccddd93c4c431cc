//! The one outgoing HTTP client of the Roomshard binaries: HTTP/1.1 over plain TCP or
//! rustls with the system's roots, connections kept alive and shared by every request.
//! The key set of bearer JWTs is fetched with it, and the worker's hooks post with it.
//! Callers set their own deadline around a request; bodies are read up to a bound.

use http_body_util::{BodyExt, Full, Limited};
use hyper::Method;
pub use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE};
pub use hyper::header::{HeaderName, HeaderValue};
pub use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Idle keep-alive connections are closed after this long.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Why a request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no TLS root certificates: {0}")]
    Tls(String),
    #[error("the request could not be built: {0}")]
    Request(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the exchange failed: {0}")]
    Exchange(String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub body: Bytes,
}

/// A cheap-to-clone client; clones share its connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new() -> Result<Self, HttpError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https);
        Ok(Self { inner })
    }

    /// GETs `uri`, accepting JSON; the body is read up to `limit` bytes.
    pub async fn get(&self, uri: Uri, limit: usize) -> Result<Response, HttpError> {
        self.send(Method::GET, uri, &[], Bytes::new(), limit).await
    }

    /// POSTs the JSON `body` to `uri` with the extra `headers`; the answer's body is read
    /// up to `limit` bytes.
    pub async fn post_json(
        &self,
        uri: Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
        limit: usize,
    ) -> Result<Response, HttpError> {
        self.send(Method::POST, uri, headers, body, limit).await
    }

    async fn send(
        &self,
        method: Method,
        uri: Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
        limit: usize,
    ) -> Result<Response, HttpError> {
        let mut req = hyper::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(ACCEPT, "application/json");
        if method == Method::POST {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| HttpError::Request(e.to_string()))?;
        let resp = self.inner.request(req).await.map_err(|e| {
            if e.is_connect() {
                HttpError::Connect(error_chain(&e))
            } else {
                HttpError::Exchange(error_chain(&e))
            }
        })?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    HttpError::TooLarge(limit)
                } else {
                    HttpError::Exchange(e.to_string())
                }
            })?
            .to_bytes();
        Ok(Response { status, body })
    }
}

/// An error and its sources, one line: hyper's own message alone says little.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
