//! Redis connections (fred) and the one way a call runs: under a deadline, failing with
//! [`RedisError`]. Every binary builds its clients here; what differs between them (how
//! often a command may be sent, how long a silent server is trusted) is a field of
//! [`ClientOptions`], chosen by the caller and explained there.
//!
//! `REDIS_URL` names one server (`redis://`, `rediss://` with TLS) or a Redis Cluster:
//! `redis-cluster://[user:password@]host:port[?node=host:port&node=…]`
//! (`rediss-cluster://` with TLS), any of its nodes as seeds. A cluster client learns which
//! node holds which slot from the seeds, sends each command to the node of its keys and
//! follows `MOVED` and `ASK` when slots move. Every script of Roomshard touches one slot
//! (docs/REDIS.md, "Key layout"), so the same code runs on either.

use fred::clients::Client;
#[cfg(feature = "pubsub")]
use fred::clients::SubscriberClient;
use fred::error::ErrorKind;
use fred::prelude::{Builder, ClientLike, Config, ReconnectPolicy};
use fred::types::RespVersion;
use prometheus::IntCounterVec;
use std::future::Future;
use std::time::Duration;

pub use crate::tls::RedisTls;

/// Why a Redis call did not succeed. `op` names the call for logs and metrics.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RedisError {
    #[error("Redis URL is invalid: {0}")]
    BadUrl(String),
    #[error("Redis did not answer {op} within {deadline:?}")]
    Timeout {
        op: &'static str,
        deadline: Duration,
    },
    #[error("Redis {op} failed: {source}")]
    Failed {
        op: &'static str,
        #[source]
        source: fred::error::Error,
    },
    #[error("Redis {op} returned an unexpected reply: {detail}")]
    Reply { op: &'static str, detail: String },
}

impl RedisError {
    /// The call that failed (`connect` for a URL that cannot be used).
    pub fn op(&self) -> &'static str {
        match self {
            RedisError::BadUrl(_) => "connect",
            RedisError::Timeout { op, .. }
            | RedisError::Failed { op, .. }
            | RedisError::Reply { op, .. } => op,
        }
    }

    /// A fred error of `op`, its own timeouts counted as missed deadlines.
    fn from_fred(op: &'static str, deadline: Duration, source: fred::error::Error) -> Self {
        if *source.kind() == ErrorKind::Timeout {
            RedisError::Timeout { op, deadline }
        } else {
            RedisError::Failed { op, source }
        }
    }
}

/// Runs one Redis call under `deadline`.
pub async fn within<T>(
    deadline: Duration,
    op: &'static str,
    call: impl Future<Output = Result<T, fred::error::Error>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(RedisError::from_fred(op, deadline, source)),
        Err(_) => Err(RedisError::Timeout { op, deadline }),
    }
}

/// [`within`], counting a failure in `failures` under the label `op`.
pub async fn within_counted<T>(
    deadline: Duration,
    failures: &IntCounterVec,
    op: &'static str,
    call: impl Future<Output = Result<T, fred::error::Error>>,
) -> Result<T, RedisError> {
    let result = within(deadline, op, call).await;
    if result.is_err() {
        failures.with_label_values(&[op]).inc();
    }
    result
}

/// Redirections (`MOVED`, `ASK`) a cluster client follows for one command: a slot being
/// moved answers `ASK` and, once moved, `MOVED`, and a failover adds one more.
const CLUSTER_REDIRECTIONS: u32 = 3;

/// How a client talks to Redis. [`ClientOptions::new`] gives the common ground; callers
/// change the fields their work needs.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// fred's own limit on one command (the caller's deadline usually sits around it).
    pub command_timeout: Duration,
    /// Connecting, and fred's internal commands (HELLO, AUTH, SUBSCRIBE on reconnect).
    pub connect_timeout: Duration,
    /// How many times fred may send one command; 1 when a replay after a reconnection
    /// could act twice. A cluster client may send it again after each redirection too.
    pub max_command_attempts: u32,
    /// Recycle a connection that has answered nothing for this long: a frozen server
    /// keeps the socket open, so without it a command waits on it forever.
    pub unresponsive_after: Option<Duration>,
    /// Fail commands at once while disconnected instead of queueing them.
    pub fail_fast: bool,
    /// RESP3 (the Socket.IO adapter needs it); RESP2 otherwise.
    pub resp3: bool,
    /// Capacity of fred's channels to its subscribers (pub/sub messages, reconnections).
    pub broadcast_capacity: Option<usize>,
    /// Reconnection back-off, doubling from the first delay up to the last (ms); retried
    /// without end.
    pub reconnect_delays_ms: (u32, u32),
    /// The CA and client certificate of a `rediss://` URL; an error with a `redis://` one,
    /// since the settings would be ignored.
    pub tls: RedisTls,
}

impl ClientOptions {
    pub fn new(command_timeout: Duration) -> Self {
        Self {
            command_timeout,
            connect_timeout: command_timeout,
            max_command_attempts: 1,
            unresponsive_after: None,
            fail_fast: true,
            resp3: false,
            broadcast_capacity: None,
            reconnect_delays_ms: (50, 2_000),
            tls: RedisTls::default(),
        }
    }

    /// A fred builder for `url` with these options.
    pub fn builder(&self, url: &str) -> Result<Builder, RedisError> {
        let mut config = Config::from_url(url).map_err(|e| {
            RedisError::BadUrl(format!(
                "{} ({})",
                e.details(),
                crate::redact::redact_url(url)
            ))
        })?;
        if config.uses_tls() {
            config.tls = Some(
                self.tls
                    .config()
                    .map_err(|e| RedisError::BadUrl(e.to_string()))?,
            );
        } else if self.tls.is_set() {
            return Err(RedisError::BadUrl(
                "REDIS_CA_FILE, REDIS_CLIENT_CERT_FILE and REDIS_CLIENT_KEY_FILE need a rediss:// URL"
                    .into(),
            ));
        }
        // fred does not read the protocol from the URL.
        if self.resp3 {
            config.version = RespVersion::RESP3;
        }
        config.fail_fast = self.fail_fast;
        // fred counts the resend of a command redirected by MOVED or ASK as one more
        // attempt, so a cluster client sending each command once could not follow a
        // single redirection: each redirection it may follow gets an attempt of its own.
        let attempts = if config.server.is_clustered() {
            self.max_command_attempts + CLUSTER_REDIRECTIONS
        } else {
            self.max_command_attempts
        };
        let mut builder = Builder::from_config(config);
        builder
            .with_performance_config(|p| {
                p.default_command_timeout = self.command_timeout;
                if let Some(capacity) = self.broadcast_capacity {
                    p.broadcast_channel_capacity = capacity;
                }
            })
            .with_connection_config(|c| {
                // Nagle's algorithm would hold a small command back until the previous one is
                // acknowledged: milliseconds on a connection that carries several at once.
                c.tcp.nodelay = Some(true);
                c.connection_timeout = self.connect_timeout;
                c.internal_command_timeout = self.connect_timeout;
                c.max_command_attempts = attempts;
                c.max_redirections = CLUSTER_REDIRECTIONS;
                if let Some(after) = self.unresponsive_after {
                    c.unresponsive.max_timeout = Some(after);
                    c.unresponsive.interval = Duration::from_millis(200);
                }
            })
            .set_policy(ReconnectPolicy::new_exponential(
                0,
                self.reconnect_delays_ms.0,
                self.reconnect_delays_ms.1,
                2,
            ));
        Ok(builder)
    }

    /// A command client, not connected yet.
    pub fn client(&self, url: &str) -> Result<Client, RedisError> {
        self.builder(url)?
            .build()
            .map_err(|e| RedisError::BadUrl(e.details().to_string()))
    }

    /// A pub/sub client, not connected yet (its user initialises it).
    #[cfg(feature = "pubsub")]
    pub fn subscriber(&self, url: &str) -> Result<SubscriberClient, RedisError> {
        self.builder(url)?
            .build_subscriber_client()
            .map_err(|e| RedisError::BadUrl(e.details().to_string()))
    }

    /// A command client that connects (and reconnects) in the background: calls fail until
    /// Redis answers, so the process starts, and says it is not ready, while Redis is away.
    pub fn connect_in_background(&self, url: &str) -> Result<Client, RedisError> {
        let client = self.client(url)?;
        let _connection_task = client.connect();
        Ok(client)
    }
}

/// Connects `client`, retrying until `startup` has passed.
pub async fn init_with_deadline<C: ClientLike>(
    client: &C,
    startup: Duration,
) -> Result<(), RedisError> {
    let start = tokio::time::Instant::now();
    loop {
        let left = startup.saturating_sub(start.elapsed());
        match tokio::time::timeout(left.max(Duration::from_millis(100)), client.init()).await {
            Ok(Ok(_)) => return Ok(()),
            // A refused password or certificate does not heal by waiting: say so at once.
            Ok(Err(source)) if is_refusal(&source) => {
                tracing::error!(
                    error = %source,
                    "redis refused this client (password, user or TLS certificate); not retrying"
                );
                return Err(RedisError::Failed {
                    op: "connect",
                    source,
                });
            }
            Ok(Err(e)) if start.elapsed() < startup => {
                tracing::warn!(error = %e, "redis not reachable yet; retrying");
                let _ = client.quit().await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok(Err(source)) => {
                return Err(RedisError::Failed {
                    op: "connect",
                    source,
                });
            }
            Err(_) => {
                return Err(RedisError::Timeout {
                    op: "connect",
                    deadline: startup,
                });
            }
        }
    }
}

/// Whether `e` is Redis or its TLS layer turning this client away (a wrong password or
/// user, a certificate that does not verify) rather than Redis being unreachable.
pub fn is_refusal(e: &fred::error::Error) -> bool {
    if matches!(e.kind(), ErrorKind::Auth | ErrorKind::Tls) {
        return true;
    }
    // rustls reports a failed handshake as an I/O error carrying its own.
    let details = e.details();
    [
        "InvalidCertificate",
        "CertificateRequired",
        "AlertReceived",
        "WRONGPASS",
        "NOAUTH",
    ]
    .iter()
    .any(|marker| details.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fred(kind: ErrorKind, details: &'static str) -> fred::error::Error {
        fred::error::Error::new(kind, details)
    }

    #[tokio::test]
    async fn errors_name_the_call_and_what_went_wrong() {
        let deadline = Duration::from_millis(20);
        assert_eq!(
            within(deadline, "ping", async { Ok::<_, fred::error::Error>(7) })
                .await
                .ok(),
            Some(7)
        );

        let late = within(deadline, "view", std::future::pending::<Result<(), _>>())
            .await
            .expect_err("late");
        assert!(
            matches!(late, RedisError::Timeout { op: "view", .. }),
            "a missed deadline is a timeout: {late:?}"
        );
        assert_eq!(late.to_string(), "Redis did not answer view within 20ms");

        let fred_timeout = within(deadline, "reserve", async {
            Err::<(), _>(fred(ErrorKind::Timeout, "command timed out"))
        })
        .await;
        assert!(
            matches!(fred_timeout, Err(RedisError::Timeout { op: "reserve", .. })),
            "fred's own timeout is a timeout too: {fred_timeout:?}"
        );

        let refused = within(deadline, "heartbeat", async {
            Err::<(), _>(fred(ErrorKind::IO, "connection refused"))
        })
        .await
        .expect_err("refused");
        assert!(
            matches!(
                refused,
                RedisError::Failed {
                    op: "heartbeat",
                    ..
                }
            ),
            "any other error is a failure: {refused:?}"
        );
        assert!(
            refused.to_string().contains("connection refused"),
            "{refused}"
        );
        assert!(std::error::Error::source(&refused).is_some());

        assert_eq!(RedisError::BadUrl("x".into()).op(), "connect");
        let reply = RedisError::Reply {
            op: "rooms",
            detail: "3 items".into(),
        };
        assert_eq!(reply.op(), "rooms");
        assert!(reply.to_string().contains("unexpected reply"), "{reply}");
    }

    #[tokio::test]
    async fn counted_calls_count_failures_by_op() {
        let failures = IntCounterVec::new(prometheus::Opts::new("f", "f"), &["op"]).expect("vec");
        let deadline = Duration::from_millis(10);
        let _ = within_counted(deadline, &failures, "leave", async {
            Ok::<_, fred::error::Error>(())
        })
        .await;
        let _ = within_counted(
            deadline,
            &failures,
            "leave",
            std::future::pending::<Result<(), _>>(),
        )
        .await;
        assert_eq!(failures.with_label_values(&["leave"]).get(), 1);
    }

    #[test]
    fn urls_are_checked_when_the_client_is_built() {
        let options = ClientOptions::new(Duration::from_millis(100));
        assert!(matches!(
            options.client("not a url"),
            Err(RedisError::BadUrl(_))
        ));
        assert!(options.client("redis://127.0.0.1:1").is_ok());
        #[cfg(feature = "pubsub")]
        assert!(options.subscriber("redis://127.0.0.1:1").is_ok());
        assert!(options.client("rediss://127.0.0.1:1").is_ok());
    }

    #[test]
    fn cluster_urls_build_cluster_clients() {
        let options = ClientOptions::new(Duration::from_millis(100));
        let url = "redis-cluster://127.0.0.1:7000?node=127.0.0.1:7001&node=127.0.0.1:7002";
        let client = options.client(url).expect("a cluster client");
        assert!(client.is_clustered());
        assert!(
            options
                .client("rediss-cluster://127.0.0.1:7000")
                .expect("a TLS cluster client")
                .is_clustered()
        );
        assert!(
            !options
                .client("redis://127.0.0.1:1")
                .expect("plain")
                .is_clustered()
        );
        #[cfg(feature = "pubsub")]
        assert!(options.subscriber(url).is_ok());
    }

    #[test]
    fn refusals_are_told_from_an_unreachable_server() {
        assert!(is_refusal(&fred(
            ErrorKind::Auth,
            "WRONGPASS invalid password"
        )));
        assert!(is_refusal(&fred(
            ErrorKind::IO,
            "Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }"
        )));
        assert!(!is_refusal(&fred(ErrorKind::IO, "Connection refused")));
        assert!(!is_refusal(&fred(ErrorKind::Timeout, "timed out")));
    }

    #[test]
    fn tls_settings_need_a_tls_url_and_bad_urls_hide_their_password() {
        let options = ClientOptions {
            tls: RedisTls {
                ca_file: Some("ca.pem".into()),
                ..RedisTls::default()
            },
            ..ClientOptions::new(Duration::from_millis(100))
        };
        let plain = options
            .client("redis://127.0.0.1:1")
            .expect_err("plain URL");
        assert!(plain.to_string().contains("rediss://"), "{plain}");
        let missing = options
            .client("rediss://127.0.0.1:1")
            .expect_err("no CA file");
        assert!(missing.to_string().contains("ca.pem"), "{missing}");

        let bad = ClientOptions::new(Duration::from_millis(100))
            .client("redis://user:topsecret@127.0.0.1:notaport")
            .expect_err("bad port");
        assert!(!bad.to_string().contains("topsecret"), "{bad}");
    }
}
