//! One call of one hook: a concurrency permit, the breaker's say, a POST under the hook's
//! deadline, and the answer read and checked. Every way a call can fail is one
//! [`CallFailure`], counted by outcome; what a failure does to the player is the hook's
//! failure mode's to decide ([`super`]).

use super::breaker::Breaker;
use crate::metrics::Metrics;
use roomshard_protocol::hooks::{self, Failure, HookDecl, HookName, MAX_ANSWER_BYTES};
use roomshard_runtime::http_client::{HeaderName, HeaderValue, HttpClient, HttpError, Uri};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Why a call got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// Every permit was in use.
    Busy,
    BreakerOpen,
    Timeout,
    /// No connection (refused, unresolvable, TLS).
    Unreachable,
    /// A status outside 2xx.
    Status(u16),
    /// A 2xx answer that is not a valid answer of this hook.
    Garbage(String),
}

impl CallFailure {
    pub fn outcome(&self) -> &'static str {
        match self {
            CallFailure::Busy => "busy",
            CallFailure::BreakerOpen => "breaker_open",
            CallFailure::Timeout => "timeout",
            CallFailure::Unreachable => "unreachable",
            CallFailure::Status(_) => "status",
            CallFailure::Garbage(_) => "garbage",
        }
    }

    /// Whether the backend is to blame (counted by the breaker).
    fn is_backend(&self) -> bool {
        !matches!(self, CallFailure::Busy | CallFailure::BreakerOpen)
    }
}

/// What every hook call shares: the HTTP client, the signing key and the metrics.
pub struct Caller {
    pub client: HttpClient,
    pub secret: Option<Vec<u8>>,
    pub metrics: Arc<Metrics>,
}

/// One configured hook.
pub struct Hook {
    pub name: HookName,
    pub failure: Failure,
    uri: Uri,
    timeout: Duration,
    permits: Semaphore,
    breaker: Mutex<Breaker>,
}

impl Hook {
    pub fn new(name: HookName, decl: &HookDecl) -> Result<Self, String> {
        let uri = decl
            .url
            .parse()
            .map_err(|e| format!("HOOKS is invalid: {}: url: {e}", name.as_str()))?;
        Ok(Self {
            name,
            failure: decl.failure_of(name),
            uri,
            timeout: Duration::from_millis(decl.timeout_ms),
            permits: Semaphore::new(decl.max_concurrency as usize),
            breaker: Mutex::new(Breaker::new(
                decl.breaker.failures,
                Duration::from_millis(decl.breaker.open_ms),
            )),
        })
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// POSTs `request` and reads the answer with `read`. A rejection inside a valid
    /// answer is a success here: the backend did its job.
    pub async fn call<T>(
        &self,
        caller: &Caller,
        request: &impl Serialize,
        read: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, CallFailure> {
        let hook = self.name.as_str();
        let result = self.attempt(caller, request, read).await;
        let outcome = result.as_ref().map_or_else(CallFailure::outcome, |_| "ok");
        caller
            .metrics
            .hook_calls
            .with_label_values(&[hook, outcome])
            .inc();
        if let Err(e) = &result {
            tracing::warn!(hook, outcome, detail = ?e, "hook call failed");
        }
        result
    }

    async fn attempt<T>(
        &self,
        caller: &Caller,
        request: &impl Serialize,
        read: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, CallFailure> {
        let Ok(_permit) = self.permits.try_acquire() else {
            return Err(CallFailure::Busy);
        };
        if !self.breaker().admit(Instant::now()) {
            return Err(CallFailure::BreakerOpen);
        }
        let hook = self.name.as_str();
        let body = serde_json::to_vec(request)
            .map_err(|e| CallFailure::Garbage(format!("request not encoded: {e}")))?;
        let started = Instant::now();
        let exchanged = tokio::time::timeout(self.timeout, self.post(caller, body)).await;
        caller
            .metrics
            .hook_duration
            .with_label_values(&[hook])
            .observe(started.elapsed().as_secs_f64());
        let result = match exchanged {
            Err(_) => Err(CallFailure::Timeout),
            Ok(Err(HttpError::Connect(_) | HttpError::Tls(_) | HttpError::Request(_))) => {
                Err(CallFailure::Unreachable)
            }
            Ok(Err(HttpError::TooLarge(n))) => {
                Err(CallFailure::Garbage(format!("answer over {n} bytes")))
            }
            Ok(Err(HttpError::Exchange(e))) => Err(CallFailure::Garbage(e)),
            Ok(Ok(resp)) if !resp.status.is_success() => {
                Err(CallFailure::Status(resp.status.as_u16()))
            }
            Ok(Ok(resp)) => read(&resp.body).map_err(CallFailure::Garbage),
        };
        self.report(caller, &result);
        result
    }

    fn report<T>(&self, caller: &Caller, result: &Result<T, CallFailure>) {
        let mut breaker = self.breaker();
        match result {
            Ok(_) => breaker.success(),
            Err(e) if e.is_backend() => {
                if breaker.failure(Instant::now()) {
                    tracing::warn!(hook = self.name.as_str(), "hook breaker opened");
                }
            }
            Err(_) => {}
        }
        let open = i64::from(breaker.is_open());
        caller
            .metrics
            .hook_breaker_open
            .with_label_values(&[self.name.as_str()])
            .set(open);
    }

    async fn post(
        &self,
        caller: &Caller,
        body: Vec<u8>,
    ) -> Result<roomshard_runtime::http_client::Response, HttpError> {
        let mut headers = Vec::new();
        if let Some(secret) = &caller.secret {
            let sig = hooks::signature(secret, &body);
            if let Ok(v) = HeaderValue::from_str(&sig) {
                headers.push((HeaderName::from_static(hooks::SIGNATURE_HEADER), v));
            }
        }
        caller
            .client
            .post_json(self.uri.clone(), &headers, body.into(), MAX_ANSWER_BYTES)
            .await
    }
}
